"""MessageBus: subscription order, breadth-first re-entrancy, exact-type routing, loud failures, commands."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from application.bus import HandlerFailure, MessageBus
from application.commands import Command


@dataclass(frozen=True)
class Ping:
    n: int


@dataclass(frozen=True)
class Pong:
    n: int


@dataclass(frozen=True)
class LoudPing(Ping):
    pass


def test_handlers_run_in_subscription_order() -> None:
    bus = MessageBus()
    calls: list[str] = []
    bus.subscribe(Ping, lambda m: calls.append(f"first {m.n}"))
    bus.subscribe(Ping, lambda m: calls.append(f"second {m.n}"))
    bus.subscribe(Ping, lambda m: calls.append(f"third {m.n}"))

    bus.publish(Ping(1))
    bus.publish(Ping(2))

    assert calls == ["first 1", "second 1", "third 1", "first 2", "second 2", "third 2"]


def test_a_handler_subscribed_before_another_runs_just_before_it() -> None:
    bus = MessageBus()
    calls: list[str] = []

    def first(m: Ping) -> None:
        calls.append("first")

    def last(m: Ping) -> None:
        calls.append("last")

    bus.subscribe(Ping, first)
    bus.subscribe(Ping, last)
    bus.subscribe(Ping, lambda m: calls.append("in between"), before=last)

    bus.publish(Ping(1))

    assert calls == ["first", "in between", "last"]


def test_subscribing_before_a_handler_that_is_not_subscribed_is_refused() -> None:
    bus = MessageBus()
    bus.subscribe(Ping, lambda m: None)

    with pytest.raises(ValueError, match="is not subscribed to Ping"):
        bus.subscribe(Ping, lambda m: None, before=lambda m: None)


def test_a_message_published_by_a_handler_is_delivered_after_the_current_one_fifo() -> None:
    bus = MessageBus()
    calls: list[str] = []

    def on_ping(message: Ping) -> None:
        calls.append(f"a ping {message.n}")
        if message.n == 1:
            bus.publish(Pong(1))
            bus.publish(Pong(2))
            bus.publish(Ping(2))

    def on_pong(message: Pong) -> None:
        calls.append(f"pong {message.n}")
        if message.n == 1:
            bus.publish(Pong(3))

    bus.subscribe(Ping, on_ping)
    bus.subscribe(Ping, lambda m: calls.append(f"b ping {m.n}"))
    bus.subscribe(Pong, on_pong)

    bus.publish(Ping(1))

    # Every handler of Ping(1) first; then the queue in FIFO order; Pong(3) after Ping(2).
    assert calls == [
        "a ping 1",
        "b ping 1",
        "pong 1",
        "pong 2",
        "a ping 2",
        "b ping 2",
        "pong 3",
    ]


def test_publishing_outside_a_handler_delivers_at_once() -> None:
    bus = MessageBus()
    calls: list[int] = []
    bus.subscribe(Ping, lambda m: calls.append(m.n))

    bus.publish(Ping(7))

    assert calls == [7]


def test_routing_is_by_exact_type_so_a_subclass_does_not_reach_base_handlers() -> None:
    bus = MessageBus()
    pings: list[Ping] = []
    louds: list[Ping] = []
    bus.subscribe(Ping, pings.append)
    bus.subscribe(LoudPing, louds.append)

    bus.publish(LoudPing(1))
    bus.publish(Ping(2))
    bus.publish(Pong(3))  # nobody listens: no error

    assert pings == [Ping(2)]
    assert louds == [LoudPing(1)]


def test_a_raising_handler_is_reported_and_the_other_handlers_still_run() -> None:
    reported: list[tuple[HandlerFailure, BaseException]] = []
    bus = MessageBus(on_error=lambda failure, error: reported.append((failure, error)))
    calls: list[str] = []

    def broken(message: Ping) -> None:
        raise ValueError(f"cannot handle {message.n}")

    bus.subscribe(Ping, lambda m: calls.append("before"))
    bus.subscribe(Ping, broken)
    bus.subscribe(Ping, lambda m: calls.append("after"))

    bus.publish(Ping(1))
    bus.publish(Ping(2))

    assert calls == ["before", "after", "before", "after"]
    assert bus.stats.handler_errors == 2
    assert [failure.error for failure, _ in reported] == [
        "ValueError: cannot handle 1",
        "ValueError: cannot handle 2",
    ]
    failure, error = reported[0]
    assert failure.message_type == "Ping"
    assert "broken" in failure.handler
    assert isinstance(error, ValueError)
    assert list(bus.stats.last_failures) == [f for f, _ in reported]


def test_a_failure_inside_a_re_entrant_dispatch_does_not_lose_queued_messages() -> None:
    bus = MessageBus(on_error=lambda failure, error: None)
    pongs: list[int] = []

    def publish_then_raise(message: Ping) -> None:
        bus.publish(Pong(message.n))
        raise RuntimeError("after publishing")

    bus.subscribe(Ping, publish_then_raise)
    bus.subscribe(Pong, lambda m: pongs.append(m.n))

    bus.publish(Ping(1))
    bus.publish(Ping(2))

    assert pongs == [1, 2]
    assert bus.stats.handler_errors == 2


def test_stats_count_every_dispatched_message_and_keep_the_last_twenty_failures() -> None:
    bus = MessageBus()

    def broken(message: Ping) -> None:
        raise KeyError(message.n)

    bus.subscribe(Ping, broken)
    bus.subscribe(Pong, lambda m: bus.publish(Ping(m.n)))

    for n in range(25):
        bus.publish(Pong(n))

    assert bus.published == 50  # 25 pongs and the 25 pings they published
    assert bus.stats.handler_errors == 25
    assert len(bus.stats.last_failures) == 20
    assert bus.stats.last_failures[-1].error == "KeyError: 24"
    assert bus.stats.last_failures[0].error == "KeyError: 5"


def test_handlers_lists_the_subscribed_handlers_of_a_type() -> None:
    bus = MessageBus()
    first: list[Ping] = []
    second: list[Ping] = []
    bus.subscribe(Ping, first.append)
    bus.subscribe(Ping, second.append)

    assert bus.handlers(Ping) == (first.append, second.append)
    assert bus.handlers(Pong) == ()


def test_the_same_input_sequence_always_yields_the_same_output_sequence() -> None:
    def run() -> list[object]:
        bus = MessageBus()
        out: list[object] = []

        def fan(message: Ping) -> None:
            out.append(message)
            if message.n < 4:
                bus.publish(Ping(message.n * 2))
                bus.publish(Pong(message.n))

        bus.subscribe(Ping, fan)
        bus.subscribe(Pong, out.append)
        for n in (1, 3, 2):
            bus.publish(Ping(n))
        return out

    assert run() == run()


def test_wants_says_whether_anyone_listens_to_a_type() -> None:
    bus = MessageBus()
    assert not bus.wants(int)
    bus.subscribe(int, lambda _: None)
    assert bus.wants(int)
    assert not bus.wants(bool)  # exact types, like delivery


def test_unsubscribe_stops_delivery_and_wants_turns_false_with_the_last_handler() -> None:
    bus = MessageBus()
    first: list[Ping] = []
    second: list[Ping] = []
    bus.subscribe(Ping, first.append)
    bus.subscribe(Ping, second.append)
    bus.unsubscribe(Ping, first.append)
    bus.publish(Ping(1))
    assert (first, second) == ([], [Ping(1)])
    bus.unsubscribe(Ping, second.append)
    assert not bus.wants(Ping)
    with pytest.raises(ValueError, match="not subscribed to Ping"):
        bus.unsubscribe(Ping, second.append)


def test_a_handler_that_unsubscribes_during_dispatch_does_not_skip_the_others() -> None:
    bus = MessageBus()
    seen: list[str] = []

    def once(message: Ping) -> None:
        seen.append("once")
        bus.unsubscribe(Ping, once)

    bus.subscribe(Ping, once)
    bus.subscribe(Ping, lambda _: seen.append("always"))
    bus.publish(Ping(1))
    bus.publish(Ping(2))
    assert seen == ["once", "always", "always"]


# -- commands ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Double(Command[int]):
    n: int


def test_a_command_runs_its_one_handler_now_and_returns_its_result() -> None:
    bus = MessageBus()
    bus.handle(Double, lambda command: command.n * 2)

    assert bus.execute(Double(21)) == 42


def test_a_second_handler_for_a_command_is_refused() -> None:
    bus = MessageBus()
    bus.handle(Double, lambda command: command.n * 2)

    with pytest.raises(ValueError, match="Double already has a handler"):
        bus.handle(Double, lambda command: command.n * 3)


def test_a_command_without_a_handler_is_a_lookup_error() -> None:
    with pytest.raises(LookupError, match="no handler for the command Double"):
        MessageBus().execute(Double(1))


def test_events_a_command_causes_are_delivered_after_it_returns_and_before_execute_does() -> None:
    bus = MessageBus()
    calls: list[str] = []

    def double(command: Double) -> int:
        bus.publish(Ping(command.n))
        calls.append("handler done")
        return command.n * 2

    bus.handle(Double, double)
    bus.subscribe(Ping, lambda m: calls.append(f"ping {m.n}"))

    assert bus.execute(Double(3)) == 6
    assert calls == ["handler done", "ping 3"]


def test_a_command_sent_from_an_event_handler_runs_at_once_and_its_events_queue_behind() -> None:
    bus = MessageBus()
    calls: list[str] = []

    def double(command: Double) -> int:
        bus.publish(Pong(command.n))
        return command.n * 2

    def on_ping(message: Ping) -> None:
        calls.append(f"ping {message.n}: doubled {bus.execute(Double(message.n))}")

    bus.handle(Double, double)
    bus.subscribe(Ping, on_ping)
    bus.subscribe(Ping, lambda m: calls.append(f"second ping handler {m.n}"))
    bus.subscribe(Pong, lambda m: calls.append(f"pong {m.n}"))

    bus.publish(Ping(5))

    assert calls == ["ping 5: doubled 10", "second ping handler 5", "pong 5"]


def test_a_command_that_raises_raises_to_its_sender_and_its_events_are_still_delivered() -> None:
    bus = MessageBus()
    calls: list[int] = []

    def refuse(command: Double) -> int:
        bus.publish(Ping(command.n))
        raise ValueError("no")

    bus.handle(Double, refuse)
    bus.subscribe(Ping, lambda m: calls.append(m.n))

    with pytest.raises(ValueError, match="no"):
        bus.execute(Double(4))
    assert calls == [4]
    assert bus.stats.handler_errors == 0  # the sender heard of it; the bus counts event handlers only
    bus.publish(Ping(5))  # and the bus goes on
    assert calls == [4, 5]
