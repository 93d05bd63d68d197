"""Domain errors: each carries a machine-readable ``code`` and names the offending value."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the domain raises; ``code`` is stable for clients to branch on."""

    code = "DOMAIN_ERROR"


class InvalidValue(DomainError, ValueError):
    """A value failed validation (malformed, not finite, negative, zero, wrong type)."""

    code = "INVALID_VALUE"

    def __init__(self, field: str, value: object, problem: str) -> None:
        self.field = field
        self.value = value
        self.problem = problem
        super().__init__(f"{field} {problem} (was {value!r})")


class InvalidParameter(InvalidValue):
    """A strategy, indicator, sizing or risk parameter is out of its allowed range."""

    code = "INVALID_PARAMETER"


class UnknownInstrument(DomainError, KeyError):
    """An instrument id is not registered."""

    code = "UNKNOWN_INSTRUMENT"

    def __init__(self, instrument_id: str) -> None:
        self.instrument_id = instrument_id
        super().__init__(f"unknown instrument {instrument_id!r}")

    def __str__(self) -> str:  # KeyError would repr() the message otherwise
        return str(self.args[0])


class InstrumentRuleViolation(InvalidValue):
    """A price or quantity breaks an instrument rule (tick, lot, minimum quantity or notional)."""

    code = "INSTRUMENT_RULE"


class IllegalTransition(DomainError):
    """An order was asked to move to a state its current state does not allow."""

    code = "ILLEGAL_TRANSITION"

    def __init__(self, client_order_id: str, from_state: str, to_state: str) -> None:
        self.client_order_id = client_order_id
        self.from_state = from_state
        self.to_state = to_state
        super().__init__(
            f"order {client_order_id} cannot go from {from_state} to {to_state}",
        )


class Overfill(DomainError):
    """A fill would take an order's filled quantity above its quantity."""

    code = "OVERFILL"

    def __init__(self, client_order_id: str, quantity: object, filled: object, fill: object) -> None:
        self.client_order_id = client_order_id
        super().__init__(
            f"order {client_order_id} of quantity {quantity} already filled {filled}; "
            f"a fill of {fill} would overfill it",
        )


class BookOutOfSync(DomainError):
    """The local order book cannot be trusted until a new snapshot is applied."""

    code = "BOOK_OUT_OF_SYNC"


class SequenceGap(BookOutOfSync):
    """A delta skipped update ids: events were missed and the book must resync."""

    code = "SEQUENCE_GAP"

    def __init__(self, instrument_id: str, expected: int, received: int) -> None:
        self.instrument_id = instrument_id
        self.expected = expected
        self.received = received
        super().__init__(
            f"{instrument_id} book gap: expected update id {expected}, was {received}",
        )


class CrossedBook(BookOutOfSync):
    """An update left best bid at or above best ask: the stream is inconsistent."""

    code = "CROSSED_BOOK"

    def __init__(self, instrument_id: str, best_bid: object, best_ask: object) -> None:
        self.instrument_id = instrument_id
        super().__init__(
            f"{instrument_id} book crossed: best bid {best_bid} >= best ask {best_ask}",
        )
