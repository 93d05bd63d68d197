"""Column types that keep money exact on every backend."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


def finite_decimal(value: object) -> Decimal:
    """``value`` when it is a finite Decimal; a float, NaN or anything else is refused
    (TypeError) before it can reach a money column."""
    if type(value) is not Decimal or not value.is_finite():
        raise TypeError(f"an exact column takes a finite Decimal, not {value!r}")
    return value


class ExactDecimal(TypeDecorator[Decimal]):
    """A Decimal stored without loss: PostgreSQL ``NUMERIC`` (no fixed scale, so any exact
    value), and text everywhere else. SQLite's NUMERIC affinity would round through a binary
    float (``12345678901234567890.123456789012345678`` came back as ``...7168.0``), so there
    the column is TEXT and the value its exact string."""

    impl = String(64)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(asdecimal=True))
        return dialect.type_descriptor(String(64))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = finite_decimal(value)
        return value if dialect.name == "postgresql" else str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, Decimal):
            return value
        if isinstance(value, str):
            return Decimal(value)
        raise TypeError(f"an exact column holds {type(value).__name__}, not a decimal: {value!r}")
