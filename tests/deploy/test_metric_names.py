"""The Prometheus rules and the Grafana dashboard query only what tradeplane exports: every
metric name, matcher label, grouping label and legend label is in ``deploy/metrics.txt``, and
the rules are named as the engine's own alerts (``deploy/alert_names.txt``)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML (installed with yamllint) ships no types

from tests.deploy.contract import (
    DEPLOY,
    EXPORTERS,
    TARGET_LABELS,
    exported_by,
    load_alert_names,
    load_metrics,
    series_metric,
)
from tests.deploy.promql import uses

ALERTS = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "tradeplane.json"
DATASOURCES = DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
_TEMPLATE_LABEL = re.compile(r"\{\{\s*\$?(?:labels\.)?\$?(\w+)\s*\}\}")
_ANNOTATION_LABEL = re.compile(r"\$labels\.(\w+)")


def problems_of(expr: str, extra_labels: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """What ``expr`` (plus the labels a legend or annotation reads) uses that is not exported."""
    metrics = load_metrics()
    found = uses(expr)
    problems: list[str] = []
    available = set(TARGET_LABELS)
    for name in sorted(found.metrics):
        resolved = series_metric(name, metrics)
        if resolved is None:
            problems.append(f"{name} is not an exported metric")
            continue
        _, labels = resolved
        available |= labels
        unknown = found.matchers.get(name, set()) - labels - TARGET_LABELS
        if unknown:
            problems.append(f"{name} has no label(s) {sorted(unknown)}")
    unknown = (found.grouping | extra_labels) - available
    if unknown:
        problems.append(f"label(s) {sorted(unknown)} are on none of {sorted(found.metrics)}")
    return problems


def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]


def test_the_metric_list_reads_and_holds_every_family_the_rules_need() -> None:
    metrics = load_metrics()
    assert metrics["tradeplane_frame_to_order_seconds"].type == "histogram"
    assert metrics["tradeplane_trading_state"].labels == {"state"}
    assert len(metrics) >= 50


def test_the_alert_rules_are_the_engines_alerts() -> None:
    names = [rule["alert"] for rule in alert_rules()]
    assert sorted(names) == sorted(load_alert_names())
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule["alert"])
def test_each_alert_reads_exported_metrics_and_says_what_to_do(rule: dict[str, Any]) -> None:
    text = " ".join(rule["annotations"].values())
    assert problems_of(rule["expr"], set(_ANNOTATION_LABEL.findall(text))) == []
    assert rule["labels"]["severity"] in {"critical", "warning"}
    assert rule["annotations"]["summary"]
    assert len(rule["annotations"]["description"]) > 80  # what it means and what to do


def panels() -> list[dict[str, Any]]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return list(dashboard["panels"])


@pytest.mark.parametrize(
    "panel", [p for p in panels() if p.get("targets")], ids=lambda panel: str(panel["title"])
)
def test_each_dashboard_query_reads_exported_metrics(panel: dict[str, Any]) -> None:
    for target in panel["targets"]:
        legend = set(_TEMPLATE_LABEL.findall(target.get("legendFormat", "")))
        assert problems_of(target["expr"], legend) == [], target["expr"]


def test_the_dashboard_covers_what_an_operator_watches() -> None:
    exprs = " ".join(t["expr"] for p in panels() for t in p.get("targets", []))
    for needed in (
        "tradeplane_equity",
        "tradeplane_drawdown_ratio",
        "tradeplane_position",
        "tradeplane_gross_exposure",
        "tradeplane_risk_refusals_total",
        "tradeplane_order_outcomes_total",
        "tradeplane_fills_total",
        "tradeplane_feed_connected",
        "tradeplane_trading_state",
        "tradeplane_alert_active",
    ):
        assert needed in exprs, needed
    for histogram in ("frame_to_handled", "frame_to_order", "order_ack", "order_fill"):
        assert f"histogram_quantile(0.99, sum by (le) (rate(tradeplane_{histogram}_seconds_bucket" in exprs


def test_the_dashboard_is_well_formed_and_uses_the_provisioned_data_source() -> None:
    uid = yaml.safe_load(DATASOURCES.read_text())["datasources"][0]["uid"]
    ids = [panel["id"] for panel in panels()]
    assert len(set(ids)) == len(ids)
    for panel in panels():
        assert panel["gridPos"]["w"] <= 24
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        if panel.get("targets"):
            assert panel["datasource"]["uid"] == uid, panel["title"]
            assert all(t["datasource"]["uid"] == uid for t in panel["targets"])


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("tradeplane_equities", "tradeplane_equities is not an exported metric"),
        ('tradeplane_position{symbol="BTC"}', "tradeplane_position has no label(s) ['symbol']"),
        ("sum by (venue) (tradeplane_position)", "label(s) ['venue'] are on none of"),
        ("rate(tradeplane_fills[5m])", "tradeplane_fills is not an exported metric"),
        ("up == 0", "up is not an exported metric"),
        ("tradeplane_order_ack_seconds_bucket{quantile='0.9'}", "has no label(s) ['quantile']"),
    ],
)
def test_the_check_catches_a_name_or_label_that_is_not_exported(expr: str, expected: str) -> None:
    problems = problems_of(expr)

    assert len(problems) == 1, problems
    assert expected in problems[0]


@pytest.mark.parametrize(
    "expr",
    [
        "histogram_quantile(0.99, sum by (le, store) (rate(tradeplane_store_commit_seconds_bucket[5m])))",
        "-tradeplane_daily_pnl >= 0.8 * tradeplane_daily_loss_limit",
        'max by (state) (tradeplane_trading_state{state="HALTED", job="tradeplane"}) == 1',
        "time() - process_start_time_seconds",
        "sum by (feed) (increase(tradeplane_feed_gaps_total[$__rate_interval]))",
    ],
)
def test_the_check_accepts_what_is_exported(expr: str) -> None:
    assert problems_of(expr) == []


def test_a_malformed_metric_list_is_refused_naming_the_line(tmp_path: Path) -> None:
    listing = tmp_path / "metrics.txt"
    listing.write_text("# comment\ntradeplane_ok gauge\ntradeplane_orders counter instrument\n")

    with pytest.raises(ValueError, match=r"metrics.txt:3: a counter's name ends with _total"):
        load_metrics(listing)


def test_each_name_says_which_processes_export_it(tmp_path: Path) -> None:
    listing = tmp_path / "metrics.txt"
    listing.write_text(
        "tradeplane_a gauge\n# exported by: engine, ingestion\ntradeplane_b gauge\n"
        "# exported by: strategy\ntradeplane_c_total counter\n"
    )

    assert set(exported_by("engine", listing)) == {"tradeplane_a", "tradeplane_b"}
    assert set(exported_by("ingestion", listing)) == {"tradeplane_b"}
    assert set(exported_by("strategy", listing)) == {"tradeplane_c_total"}
    assert exported_by("execution", listing) == {}


def test_a_marker_naming_an_unknown_process_is_refused(tmp_path: Path) -> None:
    listing = tmp_path / "metrics.txt"
    listing.write_text("# exported by: engine, broker\ntradeplane_a gauge\n")

    with pytest.raises(ValueError, match=r"metrics.txt:1: exported by \['broker'\]"):
        load_metrics(listing)


def test_every_process_exports_some_listed_names_and_the_services_their_own() -> None:
    for process in EXPORTERS:
        assert exported_by(process), process
    assert "tradeplane_bus_shards_lagging" in exported_by("execution")
    assert "tradeplane_worker_shards_owned" in exported_by("strategy")
    assert "tradeplane_worker_shards_owned" not in exported_by("engine")
