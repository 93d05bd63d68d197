"""The metric and alert names tradeplane exports, read from ``deploy/metrics.txt`` and
``deploy/alert_names.txt``: one list that the Prometheus rules, the Grafana dashboard and the
engine's exporter are all checked against."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
METRICS_FILE = DEPLOY / "metrics.txt"
ALERT_NAMES_FILE = DEPLOY / "alert_names.txt"
TYPES = ("counter", "gauge", "histogram")
TARGET_LABELS = frozenset({"job", "instance"})
"""Labels Prometheus adds to every scraped series."""
HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    type: str
    labels: frozenset[str]


def _lines(path: Path) -> list[tuple[int, str]]:
    return [
        (number, line.strip())
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]


def load_metrics(path: Path = METRICS_FILE) -> dict[str, Metric]:
    """Name -> Metric; a malformed line raises ValueError naming the file and line."""
    metrics: dict[str, Metric] = {}
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
        metrics[name] = Metric(name=name, type=kind, labels=labels)
    return metrics


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
