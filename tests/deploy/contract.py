"""The metric and alert names tradeplane exports, read from ``deploy/metrics.txt`` and
``deploy/alert_names.txt``: one list that the Prometheus rules, the Grafana dashboard and the
processes' exporters are all checked against, each process against the names marked as its own
(``# exported by: engine, ingestion`` holds for the lines below it, up to the next marker)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
METRICS_FILE = DEPLOY / "metrics.txt"
ALERT_NAMES_FILE = DEPLOY / "alert_names.txt"
TYPES = ("counter", "gauge", "histogram")
TARGET_LABELS = frozenset({"job", "instance"})
"""Labels Prometheus adds to every scraped series."""
HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")
EXPORTERS = ("engine", "execution", "ingestion", "strategy")
"""The processes with a /metrics of their own (``execution`` is the engine run as a service:
it exports the engine's names and those marked ``execution``)."""
_EXPORTED_BY = re.compile(r"#\s*exported by:\s*(.*)")


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    type: str
    labels: frozenset[str]
    exporters: frozenset[str] = frozenset({"engine"})


def _lines(path: Path) -> list[tuple[int, str]]:
    return [
        (number, line.strip())
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]


def _exporters(path: Path) -> dict[int, frozenset[str]]:
    """Line number -> the processes the marker above it names (``engine`` before any)."""
    current = frozenset({"engine"})
    found: dict[int, frozenset[str]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        marker = _EXPORTED_BY.fullmatch(line.strip())
        if marker is not None:
            current = frozenset(name.strip() for name in marker[1].split(","))
            unknown = current - set(EXPORTERS)
            if unknown or not current:
                raise ValueError(f"{path}:{number}: exported by {sorted(unknown)}, not one of {EXPORTERS}")
        found[number] = current
    return found


def load_metrics(path: Path = METRICS_FILE) -> dict[str, Metric]:
    """Name -> Metric; a malformed line raises ValueError naming the file and line."""
    metrics: dict[str, Metric] = {}
    exporters = _exporters(path)
    for number, line in _lines(path):
        fields = line.split()
        if len(fields) not in (2, 3) or fields[1] not in TYPES:
            raise ValueError(f"{path}:{number}: expected NAME TYPE [LABEL,...] with TYPE in {TYPES}: {line}")
        name, kind = fields[0], fields[1]
        if kind == "counter" and not name.endswith("_total"):
            raise ValueError(f"{path}:{number}: a counter's name ends with _total: {name}")
        if name in metrics:
            raise ValueError(f"{path}:{number}: {name} is listed twice")
        labels = frozenset(fields[2].split(",")) if len(fields) == 3 else frozenset()
        metrics[name] = Metric(name=name, type=kind, labels=labels, exporters=exporters[number])
    return metrics


def exported_by(process: str, path: Path = METRICS_FILE) -> dict[str, Metric]:
    """The names ``process``'s /metrics holds by the list (see EXPORTERS)."""
    if process not in EXPORTERS:
        raise ValueError(f"{process} is not one of {EXPORTERS}")
    return {name: metric for name, metric in load_metrics(path).items() if process in metric.exporters}


def load_alert_names(path: Path = ALERT_NAMES_FILE) -> tuple[str, ...]:
    return tuple(line for _, line in _lines(path))


def series_metric(series: str, metrics: dict[str, Metric]) -> tuple[Metric, frozenset[str]] | None:
    """The metric a series name belongs to and the labels its series carry (a histogram's
    ``_bucket`` adds ``le``), or None for a name tradeplane does not export."""
    if series in metrics:
        metric = metrics[series]
        return metric, metric.labels
    for suffix in HISTOGRAM_SERIES:
        base = metrics.get(series.removesuffix(suffix)) if series.endswith(suffix) else None
        if base is not None and base.type == "histogram":
            return base, base.labels | ({"le"} if suffix == "_bucket" else set())
    return None
