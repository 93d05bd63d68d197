"""The in-process message bus: events to every subscriber, commands to their one handler.

Events (a tick, a fill, a signal emitted) go to the handlers subscribed to their exact type, in
subscription order; nobody waits for them. An event published while another message is being
handled is queued and delivered after it (breadth-first), so ordering never depends on call depth.

Commands (``application.commands``) have exactly one handler, which runs at once, even in the
middle of handling an event, and whose result goes back to the sender. What a command causes is
published as events, delivered after the command returns (and after the message being handled,
if any). This is the ordering contract of the engine:

- a strategy that submits an intent learns at once the order it became or why it was refused,
  and every later handler of the same market event (another strategy, another signal of the same
  strategy) sees that order among the working orders;
- the venue's answers to it (accepted, filled, ...) are events: they are applied after every
  handler of the current market event has run, before the next market event.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from application.commands import Command

E = TypeVar("E")
C = TypeVar("C", bound=Command[Any])
R = TypeVar("R")


@dataclass(slots=True)
class HandlerFailure:
    """A handler raised: which one, on what message type, what it said."""

    handler: str
    message_type: str
    error: str


@dataclass(slots=True)
class BusStats:
    handler_errors: int = 0
    last_failures: deque[HandlerFailure] = field(default_factory=lambda: deque(maxlen=20))


class MessageBus:
    """Routes events to their subscribers and commands to their handler; see the module docstring.

    An event handler that raises does not stop the others: the failure is counted, kept (last
    20) and passed to ``on_error`` (the engine logs it); it is never swallowed silently. A
    command handler's exception goes to the sender, as its result would have.
    """

    __slots__ = ("_commands", "_dispatching", "_handlers", "_pending", "on_error", "published", "stats")

    def __init__(self, on_error: Callable[[HandlerFailure, BaseException], None] | None = None) -> None:
        self._handlers: dict[type, list[Callable[[Any], None]]] = {}
        self._commands: dict[type, Callable[[Any], Any]] = {}
        self._pending: deque[object] = deque()
        self._dispatching = False
        self.on_error = on_error
        self.stats = BusStats()
        self.published = 0
        """Events delivered so far (a plain slot: this is counted once per tick)."""

    # -- commands -------------------------------------------------------------------------------

    def handle(self, command_type: type[C], handler: Callable[[C], Any]) -> None:
        """Make ``handler`` the one handler of ``command_type``; raises ValueError for a second."""
        if command_type in self._commands:
            raise ValueError(f"{command_type.__name__} already has a handler")
        self._commands[command_type] = handler

    def execute(self, command: Command[R]) -> R:
        """Run ``command``'s handler now and return its result (or raise what it raised).

        Raises LookupError when no handler was registered for the command's type.
        """
        handler = self._commands.get(type(command))
        if handler is None:
            raise LookupError(f"no handler for the command {type(command).__name__}")
        if self._dispatching:  # the events it publishes queue behind the message being handled
            return cast("R", handler(command))
        self._dispatching = True
        try:
            try:
                return cast("R", handler(command))
            finally:
                self._drain()  # the events it caused, even when it raised
        finally:
            self._dispatching = False

    # -- events ---------------------------------------------------------------------------------

    def subscribe(
        self,
        message_type: type[E],
        handler: Callable[[E], None],
        *,
        before: Callable[[E], None] | None = None,
    ) -> None:
        """Add ``handler`` for events of exactly ``message_type``: after earlier handlers, or just
        before the handler ``before`` (a service that comes and goes at a fixed place in the order).

        Raises ValueError when ``before`` is not subscribed to ``message_type``.
        """
        handlers = [*self._handlers.get(message_type, ())]
        if before is None:
            handlers.append(handler)
        else:
            try:
                handlers.insert(handlers.index(before), handler)
            except ValueError:
                raise ValueError(f"{before!r} is not subscribed to {message_type.__name__}") from None
        # Copy on write: a dispatch in progress keeps iterating the list it started with.
        self._handlers[message_type] = handlers

    def unsubscribe(self, message_type: type[E], handler: Callable[[E], None]) -> None:
        """Remove ``handler``; once a type has no handler left, ``wants`` says so again.

        Raises ValueError when ``handler`` is not subscribed to ``message_type``.
        """
        handlers = list(self._handlers.get(message_type, ()))
        try:
            handlers.remove(handler)
        except ValueError:
            raise ValueError(f"{handler!r} is not subscribed to {message_type.__name__}") from None
        if handlers:
            self._handlers[message_type] = handlers
        else:
            del self._handlers[message_type]

    def wants(self, message_type: type) -> bool:
        """True when at least one handler is subscribed to exactly ``message_type``."""
        return message_type in self._handlers

    def handlers(self, message_type: type) -> tuple[Callable[[Any], None], ...]:
        return tuple(self._handlers.get(message_type, ()))

    def publish(self, message: object) -> None:
        """Deliver ``message`` now, or after the message being handled if called from a handler."""
        if self._dispatching:
            self._pending.append(message)
            return
        self._dispatching = True
        try:
            # The first message is dispatched inline (the per-tick path: one call fewer).
            self.published += 1
            handlers = self._handlers.get(type(message))
            if handlers:
                for handler in handlers:
                    try:
                        handler(message)
                    except Exception as error:  # isolated, counted and reported: see class docstring
                        self._fail(handler, message, error)
            pending = self._pending
            while pending:
                self._dispatch(pending.popleft())
        except BaseException:
            self._pending.clear()  # a KeyboardInterrupt mid-dispatch: what was queued is moot
            raise
        finally:
            self._dispatching = False

    def _drain(self) -> None:
        pending = self._pending
        try:
            while pending:
                self._dispatch(pending.popleft())
        except BaseException:
            pending.clear()
            raise

    def _dispatch(self, message: object) -> None:
        self.published += 1
        handlers = self._handlers.get(type(message))
        if not handlers:
            return
        for handler in handlers:
            try:
                handler(message)
            except Exception as error:  # isolated, counted and reported: see class docstring
                self._fail(handler, message, error)

    def _fail(self, handler: Callable[[Any], None], message: object, error: Exception) -> None:
        failure = HandlerFailure(
            handler=getattr(handler, "__qualname__", repr(handler)),
            message_type=type(message).__name__,
            error=f"{type(error).__name__}: {error}",
        )
        self.stats.handler_errors += 1
        self.stats.last_failures.append(failure)
        if self.on_error is not None:
            self.on_error(failure, error)
