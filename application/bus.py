"""The in-process message bus: synchronous, ordered, and loud about failing handlers."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

E = TypeVar("E")


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
    """Routes each message to the handlers subscribed to its exact type, in subscription order.

    A message published while another is being dispatched is queued and delivered after it
    (breadth-first), so ordering never depends on call depth. A handler that raises does not
    stop the others: the failure is counted, kept (last 20) and passed to ``on_error`` — the
    engine logs and reports it; it is never swallowed silently.
    """

    __slots__ = ("_dispatching", "_handlers", "_pending", "on_error", "published", "stats")

    def __init__(self, on_error: Callable[[HandlerFailure, BaseException], None] | None = None) -> None:
        self._handlers: dict[type, list[Callable[[Any], None]]] = {}
        self._pending: deque[object] = deque()
        self._dispatching = False
        self.on_error = on_error
        self.stats = BusStats()
        self.published = 0
        """Messages delivered so far (a plain slot: this is counted once per tick)."""

    def subscribe(self, message_type: type[E], handler: Callable[[E], None]) -> None:
        """Add ``handler`` for messages of exactly ``message_type`` (after earlier handlers)."""
        # Copy on write: a dispatch in progress keeps iterating the list it started with.
        self._handlers[message_type] = [*self._handlers.get(message_type, ()), handler]

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
        """Deliver ``message`` now, or after the message being dispatched if called from a handler."""
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
