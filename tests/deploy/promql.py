"""Just enough of PromQL to say which metrics and labels an expression uses: its selectors'
metric names and matcher labels, its ``by``/``without``/``on``/``ignoring`` labels. Not a
parser (promtool checks the syntax); a reader of names, for expressions written like ours."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

GRAFANA_VARIABLE = re.compile(r"\$\{?__\w+\}?|\$\{?\w+\}?")
_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^{}]*)\}")
_MATCHER = re.compile(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)\s*(\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*')")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)")
_RANGE = re.compile(r"\[[^\]]*\]")
_STRING = re.compile(r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'")
_IDENTIFIER = re.compile(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?")
_KEYWORDS = frozenset(
    [
        "and",
        "or",
        "unless",
        "bool",
        "offset",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "inf",
        "nan",
        "atan2",
    ]
)


@dataclass(slots=True)
class Uses:
    """What an expression reads: metric names, and for each the labels its matchers name."""

    metrics: set[str] = field(default_factory=set)
    matchers: dict[str, set[str]] = field(default_factory=dict)
    grouping: set[str] = field(default_factory=set)


def with_grafana_variables_replaced(expr: str) -> str:
    """``$__rate_interval`` and friends as a duration, so that promtool can read the expression."""
    return GRAFANA_VARIABLE.sub("5m", expr)


def uses(expr: str) -> Uses:
    found = Uses()
    text = with_grafana_variables_replaced(expr)

    def selector(match: re.Match[str]) -> str:
        name = match[1] or ""
        labels = {m[1] for m in _MATCHER.finditer(match[2])}
        if name:
            found.matchers.setdefault(name, set()).update(labels)
        else:  # {__name__="..."} is not how our expressions are written: name it so it fails
            found.metrics.add("{" + match[2] + "}")
        return name

    text = _SELECTOR.sub(selector, text)
    for group in _GROUPING.finditer(text):
        found.grouping.update(label.strip() for label in group[1].split(",") if label.strip())
    text = _GROUPING.sub(" ", text)
    text = _STRING.sub(" ", _RANGE.sub(" ", text))
    for match in _IDENTIFIER.finditer(text):
        name, call = match[1], match[2]
        if call or name in _KEYWORDS:
            continue
        found.metrics.add(name)
    for name in found.matchers:
        found.metrics.add(name)
    return found
