"""Configuration: one TOML file plus ``TRADEPLANE_...`` environment overrides, validated at load.

Override any scalar with ``TRADEPLANE_<SECTION>__<KEY>`` (double underscores between
levels), e.g. ``TRADEPLANE_BROKER__TAKER_FEE_BPS=7.5`` or
``TRADEPLANE_FEEDS__BINANCE__WS_URL=ws://127.0.0.1:9001``. Values are read as TOML
literals when they parse as one (integers, booleans, arrays); anything else, decimals
included, stays a string so it stays exact. Unknown keys are
refused with the path that holds them; secrets are never part of this object's repr.
"""

from __future__ import annotations

import copy
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from typing import Any, ClassVar

from platformdirs import user_data_dir

from domain.errors import InvalidParameter
from domain.identifiers import InstrumentId
from domain.instrument import Instrument
from domain.risk import RiskLimits, StopRules
from domain.values import non_negative, to_decimal

ENV_PREFIX = "TRADEPLANE_"
EXAMPLE_CONFIG = "example.toml"


class ConfigError(ValueError):
    """The configuration is wrong; the message names the file, the key and what is wrong."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineSettings:
    name: str = "tradeplane"
    valuation_currency: str = "USDT"
    order_id_prefix: str = "TP"
    cancel_open_orders_on_stop: bool = True
    mark_interval_ms: int = 1000
    status_interval_s: float = 5.0
    feed_restart_delay_s: float = 5.0
    """How long a feed that crashed waits before it is started again."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedSettings:
    kind: str
    options: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerSettings:
    kind: str = "paper"
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class SizingSettings:
    kind: str = "fixed_quantity"
    options: Mapping[str, Any] = field(default_factory=lambda: {"quantity": "0.001"})


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategySettings:
    id: str
    kind: str
    instruments: tuple[str, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    sizing: SizingSettings = field(default_factory=SizingSettings)
    allow_short: bool = False
    enabled: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class LoggingSettings:
    """``format``: text (a terminal's lines, times in UTC) or json (one object per line)."""

    FORMATS: ClassVar[tuple[str, ...]] = ("text", "json")
    level: str = "INFO"
    format: str = "text"


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenSettings:
    """A gRPC bearer token as configured: its SHA-256, never the token itself."""

    name: str
    role: str  # viewer, trader or admin
    sha256: str
    rate_per_second: float | None = None
    burst: int | None = None

    def __repr__(self) -> str:
        return f"TokenSettings(name={self.name!r}, role={self.role!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class GrpcSettings:
    """The control plane's listener, TLS, stream buffers, rate limits and tokens."""

    enabled: bool = True
    listen: str = "127.0.0.1:50051"
    tls_cert: str = ""
    tls_key: str = ""
    stream_buffer: int = 10_000
    rate_limit_per_second: float = 200.0
    rate_limit_burst: int = 400
    tokens: tuple[TokenSettings, ...] = ()
    backtest_data_dir: str = "data/history"
    """The only directory BacktestService reads history files from (relative: to the cwd)."""


@dataclass(frozen=True, slots=True)
class WebSettings:
    """The REST/JSON gateway in front of the control plane."""

    listen: str = ""
    """``HOST:PORT`` to serve it on; empty: no gateway."""


@dataclass(frozen=True, slots=True)
class MlSettings:
    """Where trained models are kept (``tradeplane ml train --models-dir``)."""

    models_dir: str = "data/models"
    """The directory MlService lists models from (relative: to the cwd)."""


def default_data_dir() -> str:
    """The per-user data directory (``~/.local/share/tradeplane`` on Linux, or under
    ``$XDG_DATA_HOME``): state stays in one place whatever folder the engine is started from."""
    return user_data_dir("tradeplane")


TRADES_COMMIT_MODES = ("journal", "journal+fsync", "sync")


@dataclass(frozen=True, slots=True, kw_only=True)
class StorageSettings:
    """Where the three stores live. ``kind = "memory"`` keeps nothing (tests, throwaway runs);
    ``"sql"`` uses the URLs, by default SQLite files under ``data_dir``."""

    kind: str = "memory"
    data_dir: str = field(default_factory=default_data_dir)
    """The per-user data directory unless set; loaded from a file, a relative path is taken
    from the file's folder (see ``load_settings``)."""
    trades_url: str = ""
    signals_url: str = ""
    market_data_url: str = ""
    market_data_batch_size: int = 2000
    market_data_flush_interval_s: float = 1.0
    trades_commit: str = "journal"
    """How the trades store commits (``TRADES_COMMIT_MODES``): ``journal`` (one append to a journal
    file, the SQL tables follow on a thread; survives a killed process), ``journal+fsync`` (each
    commit also waits for the disk: survives a power loss) or ``sync`` (a SQL transaction per
    commit)."""

    def urls(self) -> dict[str, str]:
        """Store name -> database URL, defaults filled in: trades and signals share
        ``tradeplane.db``; market data gets its own file (SQLite has one writer per file)."""
        base = Path(self.data_dir)
        trades = self.trades_url or f"sqlite:///{base / 'tradeplane.db'}"
        return {
            "trades": trades,
            "signals": self.signals_url or trades,
            "market_data": self.market_data_url or f"sqlite:///{base / 'market_data.db'}",
        }

    def venue_log_path(self) -> Path:
        """Where the paper venue keeps its own orders and fills (SQL stores only)."""
        return Path(self.data_dir) / "paper_venue.log"


@dataclass(frozen=True, slots=True, kw_only=True)
class RedisSettings:
    """Redis as the shared cache (latest quotes and keys other processes read); off by default."""

    cache: bool = False
    url: str = "redis://127.0.0.1:6379/0"
    prefix: str = "tradeplane:"


BUS_KINDS = ("memory", "redis")
SERVICES = ("all", "ingestion", "strategy", "execution")
"""What ``tradeplane run --service`` runs: the whole engine, or one of the three services."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BusSettings:
    """How the services meet: in one process (``memory``, the default) or over Redis Streams.

    With ``redis`` (at ``[redis] url``), ``tradeplane run --service ingestion|strategy|execution``
    runs one of the three services; see docs/architecture.md for the topology.
    """

    kind: str = "memory"
    cluster: bool = False
    """``[redis] url`` is a node of a Redis Cluster (the client follows its redirections)."""
    shards: int = 8
    """Market streams the instruments are split into; the unit a strategy worker owns. Every
    service of a deployment must use the same number."""
    market_maxlen: int = 100_000
    """Approximate length each shard's market stream is trimmed to."""
    decision_wait_ms: int = 2_000
    """How long execution holds a market event for its shard's decisions before applying it alone."""
    decision_max_age_ms: int = 60_000
    """A signal decided on a market event older than this when execution gets to it (execution was
    away and catches up) is stored, not traded; 0 trades every one, however old."""
    lease_ttl_ms: int = 5_000
    """A strategy worker silent this long loses its shards to the others."""
    warmup_events: int = 5_000
    """Market events a worker replays (without trading) to rebuild a shard's strategies it takes over."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Everything the composition root needs, validated."""

    source: str
    engine: EngineSettings
    balances: Mapping[str, Decimal]
    instruments: tuple[Instrument, ...]
    """As typed in ``[[instruments]]``: the paper venue's rules; a real venue's come from the venue."""
    feeds: tuple[FeedSettings, ...]
    broker: BrokerSettings
    strategies: tuple[StrategySettings, ...]
    risk: RiskLimits
    stops: StopRules
    logging: LoggingSettings
    grpc: GrpcSettings = field(default_factory=GrpcSettings)
    web: WebSettings = field(default_factory=WebSettings)
    ml: MlSettings = field(default_factory=MlSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    bus: BusSettings = field(default_factory=BusSettings)
    instrument_ids: tuple[str, ...] = ()
    """Every ``[[instruments]]`` id, in order (with a real venue an entry may give only its id)."""
    metrics: Mapping[str, Any] = field(default_factory=dict)
    """``[metrics]`` as written: the Prometheus endpoint's settings, checked where they are used."""
    alerts: Mapping[str, Any] = field(default_factory=dict)
    """``[alerts]`` as written (rules' thresholds, ``[[alerts.webhooks]]``), checked where they are used."""


_SECTIONS = {
    "bus",
    "metrics",
    "alerts",
    "redis",
    "storage",
    "engine",
    "account",
    "instruments",
    "feeds",
    "broker",
    "strategies",
    "risk",
    "stops",
    "logging",
    "grpc",
    "web",
    "ml",
}
_ROLES = ("viewer", "trader", "admin")
_SHA256_HEX = set("0123456789abcdef")


def example_config_path() -> Path:
    """The shipped example: Binance public market data, paper broker, SMA crossover."""
    return Path(str(files("entrypoints") / EXAMPLE_CONFIG))


def load_settings(
    path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    check: Callable[[Settings], None] | None = None,
) -> Settings:
    """Read ``path`` (default: the shipped example), apply environment overrides, validate,
    then run ``check`` (a further, offline validation) on the result.

    A relative ``[storage] data_dir`` in the file is taken from the file's folder, so the
    state of a configuration does not move with the current directory; one set in the
    environment (``TRADEPLANE_STORAGE__DATA_DIR``) is taken from the current directory, as
    any path typed in a shell. The shipped example sits inside the installed package, no place
    for state: its relative data_dir is taken from the per-user data directory.

    Raises ConfigError naming the file and key for anything malformed or unknown; when an
    environment override is what made the configuration wrong, the error names that variable.
    """
    source = path or example_config_path()
    try:
        raw = tomllib.loads(Path(source).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {source} does not exist") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config file {source} is not valid TOML: {error}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {source} is not UTF-8 text") from None
    except OSError as error:  # a directory, no permission, an I/O error
        raise ConfigError(f"config file {source} cannot be read: {error.strerror or error}") from None
    overrides = _overrides(os.environ if environ is None else environ)

    def build(applied: Mapping[str, str]) -> Settings:
        tree = copy.deepcopy(raw)
        _anchor_data_dir(tree, _relative_base(path))
        apply_overrides(tree, applied)
        settings = parse_settings(tree, source=str(source))
        if check is not None:
            check(settings)
        return settings

    try:
        return build(overrides)
    except ConfigError as error:
        if str(error).startswith("environment variable "):  # named already
            raise
        culprit = _culprit(build, overrides, str(error))
        if culprit is None:
            raise
        message = str(error).removeprefix(f"{source}: ")
        raise ConfigError(f"environment variable {culprit}: {message}") from None


def _relative_base(path: Path | None) -> Path:
    """The folder a relative ``data_dir`` of the file at ``path`` is taken from."""
    if path is None or Path(path).resolve() == example_config_path().resolve():
        return Path(default_data_dir())
    return Path(os.path.abspath(path)).parent


def _anchor_data_dir(raw: dict[str, Any], base: Path) -> None:
    """Make the file's ``[storage] data_dir`` absolute, from ``base`` when it is relative
    (anything malformed is left for the validation to name)."""
    storage = raw.get("storage")
    if isinstance(storage, dict) and isinstance(storage.get("data_dir"), str) and storage["data_dir"].strip():
        storage["data_dir"] = os.path.normpath(base / Path(storage["data_dir"]).expanduser())


def _overrides(environ: Mapping[str, str]) -> dict[str, str]:
    """The ``TRADEPLANE_SECTION__KEY`` variables that override the configuration."""
    return {
        name: value
        for name, value in sorted(environ.items())
        if name.startswith(ENV_PREFIX) and "__" in name and _override_path(name) is not None
    }


def _override_path(name: str) -> list[str] | None:
    path = [part.lower() for part in name[len(ENV_PREFIX) :].split("__")]
    if path[0] not in _SECTIONS or any(not part for part in path):
        return None
    return path


def _culprit(
    build: Callable[[Mapping[str, str]], Settings], overrides: Mapping[str, str], error: str
) -> str | None:
    """The first override without which ``error`` goes away (or becomes another error): the one
    that caused it. None when every override can go and the error stays: the file's own."""
    for name in overrides:
        others = {other: value for other, value in overrides.items() if other != name}
        try:
            build(others)
        except ConfigError as without:
            if str(without) == error:
                continue
        return name
    return None


def apply_overrides(raw: dict[str, Any], environ: Mapping[str, str]) -> None:
    """Apply ``TRADEPLANE_A__B__C=value`` onto ``raw['a']['b']['c']`` (creating tables as needed)."""
    for name, value in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        path = _override_path(name)
        if path is None:
            continue
        table = raw
        for part in path[:-1]:
            nested = table.setdefault(part, {})
            if not isinstance(nested, dict):
                raise ConfigError(f"environment variable {name}: {part} is not a table in the config")
            table = nested
        table[path[-1]] = _literal(value)


def _literal(text: str) -> Any:
    """A TOML literal for ints, booleans and arrays; decimals stay text so they stay exact."""
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    return text if isinstance(value, float) else value


def _table(raw: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}.{key} must be a table")
    return dict(value)


def known_keys(table: Mapping[str, Any], allowed: set[str] | frozenset[str], where: str) -> None:
    """Raise ConfigError naming the keys of ``table`` (the TOML table ``where``) not in ``allowed``."""
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(allowed))}"
        )


def _engine(table: dict[str, Any]) -> EngineSettings:
    known_keys(table, set(EngineSettings.__dataclass_fields__), "[engine]")
    settings = EngineSettings(**table)
    for key in ("name", "valuation_currency", "order_id_prefix"):
        if not isinstance(getattr(settings, key), str) or not getattr(settings, key):
            raise ConfigError(f"[engine] {key} must be a non-empty string")
    if not isinstance(settings.mark_interval_ms, int) or settings.mark_interval_ms < 1:
        raise ConfigError(
            f"[engine] mark_interval_ms must be a positive integer (was {settings.mark_interval_ms!r})"
        )
    delay = settings.feed_restart_delay_s
    if isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 <= delay <= 3600:
        raise ConfigError(f"[engine] feed_restart_delay_s must be seconds from 0 to 3600 (was {delay!r})")
    return settings


def _instrument_id(entry: Any, index: int) -> str:
    """The id of an ``[[instruments]]`` entry that may give nothing else (a real venue's)."""
    where = f"[[instruments]] #{index + 1}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be a table")
    rules = {"id", "base", "quote", "price_tick", "lot_size", "min_quantity", "min_notional"}
    known_keys(entry, rules, where)
    try:
        return str(InstrumentId(entry.get("id")))  # type: ignore[arg-type]  # checked by InstrumentId
    except ValueError as error:
        raise ConfigError(f"{where}: {error}") from None


def _instrument(entry: Any, index: int) -> Instrument:
    where = f"[[instruments]] #{index + 1}"
    _instrument_id(entry, index)
    try:
        fields: dict[str, Any] = {k: v if k in {"id", "base", "quote"} else str(v) for k, v in entry.items()}
        return Instrument(**fields)  # every field is validated (and converted) by Instrument itself
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{where}: {error}") from None


def _strategy(entry: Any, index: int) -> StrategySettings:
    where = f"[[strategies]] #{index + 1}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be a table")
    known_keys(entry, {"id", "kind", "instruments", "params", "sizing", "allow_short", "enabled"}, where)
    for key in ("id", "kind"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise ConfigError(f"{where}: {key} must be a non-empty string")
    instruments = entry.get("instruments")
    if (
        not isinstance(instruments, list)
        or not instruments
        or not all(isinstance(i, str) for i in instruments)
    ):
        raise ConfigError(f"{where}: instruments must be a non-empty list of SYMBOL.VENUE ids")
    sizing = dict(entry.get("sizing", {"kind": "fixed_quantity", "quantity": "0.001"}))
    kind = sizing.pop("kind", "fixed_quantity")
    return StrategySettings(
        id=entry["id"],
        kind=entry["kind"],
        instruments=tuple(instruments),
        params=dict(entry.get("params", {})),
        sizing=SizingSettings(kind=kind, options=sizing),
        allow_short=bool(entry.get("allow_short", False)),
        enabled=bool(entry.get("enabled", True)),
    )


def _positive_number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigError(f"{where} must be a positive number (was {value!r})")
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{where} must be a positive number (was {value!r})") from None
    if not 0 < number < float("inf"):
        raise ConfigError(f"{where} must be a positive number (was {value!r})")
    return number


def _positive_int(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where} must be a positive integer (was {value!r})")
    return value


def _token(entry: Any, index: int) -> TokenSettings:
    where = f"[[grpc.tokens]] #{index + 1}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be a table")
    known_keys(entry, {"name", "role", "sha256", "rate_per_second", "burst"}, where)
    name, role, digest = entry.get("name"), entry.get("role"), entry.get("sha256")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}: name must be a non-empty string")
    if role not in _ROLES:
        raise ConfigError(f"{where} ({name}): role must be one of {', '.join(_ROLES)} (was {role!r})")
    if not isinstance(digest, str) or len(digest) != 64 or not set(digest.lower()) <= _SHA256_HEX:
        raise ConfigError(
            f"{where} ({name}): sha256 must be the 64-hex-digit SHA-256 of the token;"
            " `tradeplane token` prints one (the token itself never goes in the config)"
        )
    rate = entry.get("rate_per_second")
    burst = entry.get("burst")
    return TokenSettings(
        name=name,
        role=role,
        sha256=digest.lower(),
        rate_per_second=None if rate is None else _positive_number(rate, f"{where}: rate_per_second"),
        burst=None if burst is None else _positive_int(burst, f"{where}: burst"),
    )


def _grpc(table: dict[str, Any]) -> GrpcSettings:
    fields = set(GrpcSettings.__dataclass_fields__)
    known_keys(table, fields, "[grpc]")
    tokens_raw = table.pop("tokens", [])
    if not isinstance(tokens_raw, list):
        raise ConfigError("[grpc] tokens must be an array of tables ([[grpc.tokens]])")
    tokens = tuple(_token(entry, i) for i, entry in enumerate(tokens_raw))
    names = [t.name for t in tokens]
    if len(set(names)) != len(names):
        raise ConfigError(f"[grpc] token names must be unique (were {names})")
    settings = GrpcSettings(tokens=tokens, **table)
    if not isinstance(settings.enabled, bool):
        raise ConfigError(f"[grpc] enabled must be true or false (was {settings.enabled!r})")
    check_listen(settings.listen, "[grpc] listen")
    for key in ("tls_cert", "tls_key"):
        if not isinstance(getattr(settings, key), str):
            raise ConfigError(f"[grpc] {key} must be a file path")
    if bool(settings.tls_cert) != bool(settings.tls_key):
        raise ConfigError("[grpc] tls_cert and tls_key must be set together")
    _positive_int(settings.stream_buffer, "[grpc] stream_buffer")
    _positive_int(settings.rate_limit_burst, "[grpc] rate_limit_burst")
    if not isinstance(settings.backtest_data_dir, str) or not settings.backtest_data_dir.strip():
        raise ConfigError(
            f"[grpc] backtest_data_dir must be a directory path (was {settings.backtest_data_dir!r})"
        )
    return GrpcSettings(
        enabled=settings.enabled,
        listen=settings.listen,
        tls_cert=settings.tls_cert,
        tls_key=settings.tls_key,
        stream_buffer=settings.stream_buffer,
        rate_limit_per_second=_positive_number(
            settings.rate_limit_per_second, "[grpc] rate_limit_per_second"
        ),
        rate_limit_burst=settings.rate_limit_burst,
        tokens=tokens,
        backtest_data_dir=settings.backtest_data_dir,
    )


def _web(table: dict[str, Any]) -> WebSettings:
    known_keys(table, set(WebSettings.__dataclass_fields__), "[web]")
    settings = WebSettings(**table)
    if not isinstance(settings.listen, str):
        raise ConfigError(
            f"[web] listen must be HOST:PORT, or empty for no gateway (was {settings.listen!r})"
        )
    if settings.listen:
        check_listen(settings.listen, "[web] listen")
    return settings


def _ml(table: dict[str, Any]) -> MlSettings:
    known_keys(table, set(MlSettings.__dataclass_fields__), "[ml]")
    settings = MlSettings(**table)
    if not isinstance(settings.models_dir, str) or not settings.models_dir.strip():
        raise ConfigError(f"[ml] models_dir must be a directory path (was {settings.models_dir!r})")
    return settings


def _storage(table: dict[str, Any]) -> StorageSettings:
    """A configuration keeps its state by default (SQLite files under ``data_dir``, by default
    the per-user data directory); ``kind = "memory"`` keeps nothing. Built in code,
    ``StorageSettings()`` is in memory. A relative data_dir left here (the environment's, or a
    mapping's) is taken from the current directory, once: the result is absolute."""
    known_keys(table, set(StorageSettings.__dataclass_fields__), "[storage]")
    settings = StorageSettings(**{"kind": "sql", **table})
    if settings.kind not in {"memory", "sql"}:
        raise ConfigError(f"[storage] kind must be memory or sql (was {settings.kind!r})")
    for key in ("data_dir", "trades_url", "signals_url", "market_data_url"):
        if not isinstance(getattr(settings, key), str):
            raise ConfigError(f"[storage] {key} must be a string")
    if not settings.data_dir.strip():
        raise ConfigError(f"[storage] data_dir must be a directory path (was {settings.data_dir!r})")
    settings = replace(settings, data_dir=os.path.abspath(os.path.expanduser(settings.data_dir)))
    for key, value in settings.urls().items():
        if not value.startswith(("sqlite:///", "postgresql://", "postgresql+psycopg://")):
            raise ConfigError(
                f"[storage] {key}_url must be sqlite:///PATH or postgresql://USER@HOST:PORT/DB"
                f" (was {value!r})"
            )
    _positive_int(settings.market_data_batch_size, "[storage] market_data_batch_size")
    _positive_number(settings.market_data_flush_interval_s, "[storage] market_data_flush_interval_s")
    if settings.trades_commit not in TRADES_COMMIT_MODES:
        raise ConfigError(
            f"[storage] trades_commit must be one of {', '.join(TRADES_COMMIT_MODES)}"
            f" (was {settings.trades_commit!r})"
        )
    return settings


def _redis(table: dict[str, Any]) -> RedisSettings:
    known_keys(table, set(RedisSettings.__dataclass_fields__), "[redis]")
    settings = RedisSettings(**table)
    if not isinstance(settings.cache, bool):
        raise ConfigError(f"[redis] cache must be true or false (was {settings.cache!r})")
    if not isinstance(settings.url, str) or not settings.url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"[redis] url must be redis://HOST:PORT/DB (was {settings.url!r})")
    if not isinstance(settings.prefix, str) or not settings.prefix:
        raise ConfigError("[redis] prefix must be a non-empty string")
    return settings


_BUS_BOUNDS = {
    "shards": (1, 1024),
    "market_maxlen": (1_000, 100_000_000),
    "decision_wait_ms": (0, 600_000),
    "decision_max_age_ms": (0, 86_400_000),
    "lease_ttl_ms": (500, 600_000),
    "warmup_events": (0, 10_000_000),
}


def _bus(table: dict[str, Any]) -> BusSettings:
    known_keys(table, set(BusSettings.__dataclass_fields__), "[bus]")
    settings = BusSettings(**table)
    if settings.kind not in BUS_KINDS:
        raise ConfigError(f"[bus] kind must be one of {', '.join(BUS_KINDS)} (was {settings.kind!r})")
    if not isinstance(settings.cluster, bool):
        raise ConfigError(f"[bus] cluster must be true or false (was {settings.cluster!r})")
    for name, (low, high) in _BUS_BOUNDS.items():
        value = getattr(settings, name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(f"[bus] {name} must be a whole number from {low} to {high} (was {value!r})")
    return settings


def check_listen(value: object, where: str) -> str:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6), port 0-65535 (0: any free port)."""
    if not isinstance(value, str) or ":" not in value:
        raise ConfigError(f"{where} must be HOST:PORT, e.g. 127.0.0.1:50051 (was {value!r})")
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"{where} must be HOST:PORT with a port of 0-65535 (was {value!r})")
    return value


def parse_settings(raw: Mapping[str, Any], *, source: str = "<config>") -> Settings:
    """Validate a parsed configuration mapping into Settings; anything wrong is a ConfigError
    naming the source (a bad value deep inside, e.g. an out-of-range balance, included)."""
    try:
        return _parse_settings(raw, source)
    except ConfigError:
        raise
    except (InvalidParameter, ValueError, TypeError) as error:
        raise ConfigError(f"{source}: {error}") from None


def _parse_settings(raw: Mapping[str, Any], source: str) -> Settings:
    known_keys(raw, _SECTIONS, source)
    account = _table(raw, "account", source)
    known_keys(account, {"balances"}, "[account]")
    balances_raw = account.get("balances", {"USDT": "10000"})
    if not isinstance(balances_raw, dict):
        raise ConfigError("[account] balances must be a table of ASSET = amount")
    balances = {
        str(asset): non_negative(str(amount), f"[account] balances.{asset}")
        for asset, amount in balances_raw.items()
    }
    broker_raw = _table(raw, "broker", source)
    broker = BrokerSettings(kind=str(broker_raw.pop("kind", "paper")), options=broker_raw)
    _no_secrets(broker_raw)
    entries = raw.get("instruments", [])
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{source}: at least one [[instruments]] entry is needed")
    instrument_ids = tuple(_instrument_id(entry, i) for i, entry in enumerate(entries))
    if len(set(instrument_ids)) != len(instrument_ids):
        raise ConfigError(f"{source}: [[instruments]] ids must be unique (were {list(instrument_ids)})")
    if broker.kind in VENUE_INSTRUMENT_BROKERS:  # the venue gives the rules; typed ones are checked
        instruments = tuple(_instrument(entry, i) for i, entry in enumerate(entries) if len(entry) > 1)
    else:  # typed, except on a venue that publishes its instruments: read from it at start
        instruments = tuple(
            _instrument(entry, i)
            for i, entry in enumerate(entries)
            if len(entry) > 1 or InstrumentId(instrument_ids[i]).venue not in PUBLISHING_VENUES
        )
    feeds_raw = _table(raw, "feeds", source)
    feeds = []
    for kind, options in feeds_raw.items():
        if not isinstance(options, dict):
            raise ConfigError(f"[feeds.{kind}] must be a table")
        feeds.append(FeedSettings(kind=kind, options=dict(options)))
    strategies = tuple(_strategy(entry, i) for i, entry in enumerate(raw.get("strategies", [])))
    ids = [s.id for s in strategies]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{source}: strategy ids must be unique (were {ids})")
    risk = RiskLimits.from_mapping(_table(raw, "risk", source))
    stops_raw = _table(raw, "stops", source)
    known_keys(stops_raw, {"stop_loss_fraction", "take_profit_fraction", "trailing_fraction"}, "[stops]")
    stops = StopRules(**{k: to_decimal(str(v), f"[stops] {k}") for k, v in stops_raw.items()})
    logging_raw = _table(raw, "logging", source)
    known_keys(logging_raw, {"level", "format"}, "[logging]")
    log_settings = LoggingSettings(**logging_raw)
    if log_settings.format not in {"text", "json"}:
        raise ConfigError(f"[logging] format must be text or json (was {log_settings.format!r})")
    return Settings(
        source=source,
        engine=_engine(_table(raw, "engine", source)),
        balances=balances,
        instruments=instruments,
        feeds=tuple(feeds),
        broker=broker,
        strategies=strategies,
        risk=risk,
        stops=stops,
        logging=log_settings,
        grpc=_grpc(_table(raw, "grpc", source)),
        web=_web(_table(raw, "web", source)),
        ml=_ml(_table(raw, "ml", source)),
        storage=_storage(_table(raw, "storage", source)),
        redis=_redis(_table(raw, "redis", source)),
        bus=_bus(_table(raw, "bus", source)),
        metrics=dict(_table(raw, "metrics", source)),
        alerts=dict(_table(raw, "alerts", source)),
        instrument_ids=instrument_ids,
    )


VENUE_INSTRUMENT_BROKERS = frozenset({"binance"})
"""Brokers whose instruments (tick, lot, minimums) come from the venue, not from the file."""

PUBLISHING_VENUES = frozenset({"BINANCE", "COINBASE", "KRAKEN"})
"""Venues whose instruments a public endpoint gives (Binance's exchangeInfo, Coinbase's products,
Kraken's instrument channel): with the paper broker, an ``[[instruments]]`` entry on one of them
may give its id alone, and is read from the venue at start."""

_SECRET_KEYS = frozenset({"api_key", "api_secret", "secret", "secret_key", "private_key", "password"})


def _no_secrets(broker: Mapping[str, Any]) -> None:
    """Keys never sit in a configuration file in clear; say where they go instead (without the value)."""
    found = sorted(key for key in broker if key.lower() in _SECRET_KEYS)
    if found:
        raise ConfigError(
            f"[broker] {', '.join(found)}: API keys never go in the configuration file; store them"
            " encrypted with `tradeplane keys add VENUE`, or set TRADEPLANE_VENUE_API_KEY and"
            " TRADEPLANE_VENUE_API_SECRET in the environment (see docs/keys.md)"
        )


def require_redis_bus(settings: Settings, service: str) -> None:
    """``--service`` other than ``all`` needs ``[bus] kind = "redis"``; say so plainly."""
    if service != "all" and settings.bus.kind != "redis":
        raise ConfigError(
            f"--service {service} runs one of three services joined by Redis Streams: set"
            ' [bus] kind = "redis" (and [redis] url), or run --service all for one process'
        )
