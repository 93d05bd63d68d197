"""Which features a model uses: ``FeatureSpec``, read from configuration by
``parse_feature_set``, and the ``DEFAULT_FEATURES``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from domain.errors import InvalidParameter
from domain.indicators._common import check_period, check_positive_real
from domain.ml.feature_kinds import KINDS


def _field(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _normalize(kind: object, params: object, where: str) -> dict[str, int | float]:
    """Check ``kind`` and ``params`` and return the params complete with their defaults."""
    if not isinstance(kind, str) or kind not in KINDS:
        known = ", ".join(sorted(KINDS))
        raise InvalidParameter(_field(where, "kind"), kind, f"must be one of {known}")
    if not isinstance(params, Mapping):
        raise InvalidParameter(
            _field(where, "params"), params, "must be a mapping of parameter names to numbers"
        )
    definition = KINDS[kind]
    allowed = {param.name for param in definition.params}
    for name in params:
        if name not in allowed:
            expected = ", ".join(sorted(allowed)) if allowed else "none"
            raise InvalidParameter(
                _field(where, str(name)), params[name], f"is not a parameter of {kind} ({expected})"
            )
    normalized: dict[str, int | float] = {}
    for param in definition.params:
        value = params.get(param.name, param.default)
        if param.real:
            normalized[param.name] = check_positive_real(value, _field(where, param.name))
        else:
            normalized[param.name] = check_period(value, _field(where, param.name), minimum=param.minimum)
    definition.check(normalized, where)
    return normalized


def _text(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


@dataclass(frozen=True)
class FeatureSpec:
    """One feature: its kind and parameters (missing ones take the kind's defaults).

    ``name`` is the kind followed by its parameters in their fixed order (``return_5``,
    ``macd_12_26_9``, ``bb_percent_b_20_2``, ``log_volume``): two specs with one name compute
    the same column. Raises InvalidParameter naming the bad kind or parameter.
    """

    kind: str
    params: Mapping[str, int | float] = field(default_factory=dict)
    name: str = field(init=False)

    def __post_init__(self) -> None:
        normalized = _normalize(self.kind, self.params, "")
        object.__setattr__(self, "params", MappingProxyType(normalized))
        object.__setattr__(self, "name", "_".join([self.kind, *(_text(v) for v in normalized.values())]))

    def __hash__(self) -> int:
        return hash(self.name)

    def __reduce__(self) -> tuple[type[FeatureSpec], tuple[str, dict[str, int | float]]]:
        # The read-only view of the params cannot be pickled; a spec rebuilt from a plain
        # copy is the same spec (and is checked again on the way in).
        return FeatureSpec, (self.kind, dict(self.params))

    @property
    def warmup(self) -> int:
        """Bars needed before this feature's first value (at row ``warmup - 1``)."""
        return KINDS[self.kind].warmup(self.params)


def parse_feature_set(raw: Sequence[Mapping[str, object]]) -> tuple[FeatureSpec, ...]:
    """Feature specs from configuration entries such as ``{"kind": "rsi", "period": 14}``.

    Raises InvalidParameter naming the entry (``features[2].period``) for an unknown kind or
    parameter, a value of the wrong type or out of range, and a feature that repeats an
    earlier one (the same name, defaults included); an empty set is refused too.
    """
    candidate: object = raw
    if isinstance(candidate, (str, bytes)) or not isinstance(candidate, Sequence):
        raise InvalidParameter("features", raw, "must be a list of feature entries")
    if not raw:
        raise InvalidParameter("features", raw, "must name at least one feature")
    specs: list[FeatureSpec] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(raw):
        where = f"features[{index}]"
        if not isinstance(entry, Mapping):
            raise InvalidParameter(where, entry, "must be a mapping with a kind")
        if "kind" not in entry:
            raise InvalidParameter(f"{where}.kind", None, "is missing")
        params = {str(key): value for key, value in entry.items() if key != "kind"}
        normalized = _normalize(entry["kind"], params, where)
        spec = FeatureSpec(str(entry["kind"]), normalized)
        if spec.name in seen:
            raise InvalidParameter(where, spec.name, f"repeats features[{seen[spec.name]}]")
        seen[spec.name] = index
        specs.append(spec)
    return tuple(specs)


DEFAULT_FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec("return", {"horizon": 1}),
    FeatureSpec("return", {"horizon": 5}),
    FeatureSpec("return", {"horizon": 20}),
    FeatureSpec("sma_ratio", {"period": 20}),
    FeatureSpec("ema_ratio", {"period": 50}),
    FeatureSpec("rsi", {"period": 14}),
    FeatureSpec("macd", {"fast": 12, "slow": 26, "signal": 9}),
    FeatureSpec("macd_hist", {"fast": 12, "slow": 26, "signal": 9}),
    FeatureSpec("bb_percent_b", {"period": 20, "k": 2.0}),
    FeatureSpec("bb_width", {"period": 20, "k": 2.0}),
    FeatureSpec("atr_ratio", {"period": 14}),
    FeatureSpec("volume_ratio", {"period": 20}),
    FeatureSpec("log_volume"),
)
"""Price momentum at three horizons, trend, oscillators, volatility and volume: 50 bars of
warm-up (``ema_ratio_50``)."""
