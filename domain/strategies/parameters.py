"""Strategy parameter parsing and checks: strings from the command line or typed values."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from domain.errors import InvalidParameter
from domain.strategies.base import PriceSource


def check_int(name: str, value: object, *, minimum: int, maximum: int) -> int:
    """Return ``value`` if it is an int (not a bool) in ``[minimum, maximum]``.

    Raises InvalidParameter naming ``name`` otherwise.
    """
    if type(value) is not int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidParameter(name, value, f"must be an int, not {type(value).__name__}")
        value = int(value)
    if not minimum <= value <= maximum:
        raise InvalidParameter(name, value, f"must be between {minimum} and {maximum}")
    return value


def check_real(
    name: str,
    value: object,
    *,
    above: float | None = None,
    minimum: float | None = None,
    below: float | None = None,
    maximum: float | None = None,
) -> float:
    """Return ``value`` as a finite float within the bounds given (exclusive or inclusive).

    Ints and Decimals are accepted and converted; bools, strings and other types are not.
    Raises InvalidParameter naming ``name`` for a wrong type, NaN, an infinity or a value
    out of range.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise InvalidParameter(name, value, f"must be a number, not {type(value).__name__}")
    try:
        result = float(value)
    except OverflowError:
        raise InvalidParameter(name, value, "is too large") from None
    if not math.isfinite(result):
        raise InvalidParameter(name, value, "must be finite")
    if above is not None and not result > above:
        raise InvalidParameter(name, value, f"must be greater than {above:g}")
    if minimum is not None and not result >= minimum:
        raise InvalidParameter(name, value, f"must be at least {minimum:g}")
    if below is not None and not result < below:
        raise InvalidParameter(name, value, f"must be less than {below:g}")
    if maximum is not None and not result <= maximum:
        raise InvalidParameter(name, value, f"must be at most {maximum:g}")
    return result


def check_source(value: object) -> PriceSource:
    """Return ``value`` as a PriceSource; accepts a member or its name in any case.

    Raises InvalidParameter naming ``source`` and listing the allowed values otherwise.
    """
    if isinstance(value, PriceSource):
        return value
    if isinstance(value, str):
        try:
            return PriceSource(value.strip().lower())
        except ValueError:
            pass
    allowed = ", ".join(source.value for source in PriceSource)
    raise InvalidParameter("source", value, f"must be one of {allowed}")


class ParameterReader:
    """Reads one strategy's parameters out of a mapping, converting command-line strings.

    Construction refuses non-string and unknown keys. ``integer``, ``number`` and
    ``source`` return the named value converted to its type, or the dataclass field's
    default when the key is absent. Ranges and cross-field rules are the parameter
    class's own ``__post_init__`` checks, so typed construction and parsing share them.
    """

    __slots__ = ("_defaults", "_mapping")

    def __init__(self, strategy: str, mapping: Mapping[str, object], params_type: type[Any]) -> None:
        """Raise InvalidParameter for a key that is not a string or not a field of ``params_type``."""
        if not isinstance(mapping, Mapping):
            raise InvalidParameter("params", mapping, "must be a mapping of parameter names to values")
        fields = dataclasses.fields(params_type)
        self._defaults: dict[str, object] = {field.name: field.default for field in fields}
        allowed = ", ".join(sorted(self._defaults))
        for key in sorted(mapping, key=repr):
            if not isinstance(key, str):
                raise InvalidParameter("params", key, f"parameter names must be strings ({allowed})")
            if key not in self._defaults:
                raise InvalidParameter(
                    key, mapping[key], f"is not a parameter of {strategy}; allowed: {allowed}"
                )
        self._mapping = mapping

    def _get(self, name: str) -> object:
        return self._mapping.get(name, self._defaults[name])

    def integer(self, name: str) -> int:
        """The parameter as an int; a string must be an integer literal ("10", "+10")."""
        value = self._get(name)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                raise InvalidParameter(name, value, "must be an integer") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidParameter(name, value, f"must be an int, not {type(value).__name__}")
        return value

    def number(self, name: str) -> float:
        """The parameter as a float; a string must be a decimal literal ("2", "2.5", "1e-3")."""
        value = self._get(name)
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                raise InvalidParameter(name, value, "must be a number") from None
        return check_real(name, value)

    def source(self) -> PriceSource:
        """The ``source`` parameter as a PriceSource."""
        return check_source(self._get("source"))
