"""The venue's refusals: an HTTP status, a numeric code and a message, as Binance words them.

Every check of the simulated venue raises ``VenueError``; the REST and WebSocket API layers
turn it into ``{"code": ..., "msg": ...}`` with its HTTP status (or the WebSocket API's
``status``), and ``Retry-After`` when it has one.
"""

from __future__ import annotations

from typing import Any

DECIMAL_RANGE = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"
INTEGER_RANGE = r"^[0-9]{1,20}$"
CLIENT_ID_RANGE = r"^[\.A-Z\:/a-z0-9_-]{1,36}$"

INSUFFICIENT_BALANCE = "Account has insufficient balance for requested action."
WOULD_TAKE = "Order would immediately match and take."
STOP_WOULD_TRIGGER = "Stop price would trigger immediately."
DUPLICATE_ORDER = "Duplicate order sent."
UNKNOWN_ORDER = "Unknown order sent."
NO_SUCH_ORDER = "Order does not exist."
TIMEOUT_UNKNOWN = (
    "Timeout waiting for response from backend server. Send status unknown; execution status unknown."
)
UNEXPECTED_UNKNOWN = "An unexpected response was received from the message bus. Execution status unknown."
UNKNOWN_ERROR = "An unknown error occurred while processing the request."


class VenueError(Exception):
    """A request the venue refuses; ``status`` is the HTTP status it answers with."""

    def __init__(self, code: int, msg: str, *, status: int = 400, retry_after: int | None = None) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status
        self.retry_after = retry_after
        """Seconds the client must wait (429 and 418 answers only)."""

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "msg": self.msg}


def mandatory(name: str) -> VenueError:
    return VenueError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def one_of_mandatory(first: str, second: str) -> VenueError:
    return VenueError(-1102, f"Param '{first}' or '{second}' must be sent, but both were empty/null!")


def illegal(name: str, legal: str) -> VenueError:
    return VenueError(-1100, f"Illegal characters found in parameter '{name}'; legal range is '{legal}'.")


def invalid_value(name: str) -> VenueError:
    return VenueError(-1130, f"Data sent for parameter '{name}' is not valid.")


def not_required(name: str) -> VenueError:
    return VenueError(-1106, f"Parameter '{name}' sent when not required.")


def empty(name: str) -> VenueError:
    return VenueError(-1105, f"Parameter '{name}' was empty.")


def filter_failure(name: str) -> VenueError:
    return VenueError(-1013, f"Filter failure: {name}")


def order_rejected(msg: str) -> VenueError:
    return VenueError(-2010, msg)


def cancel_rejected(msg: str = UNKNOWN_ORDER) -> VenueError:
    return VenueError(-2011, msg)


def bad_symbol() -> VenueError:
    return VenueError(-1121, "Invalid symbol.")


def unsupported(msg: str = "Unsupported order combination.") -> VenueError:
    return VenueError(-1014, msg)
