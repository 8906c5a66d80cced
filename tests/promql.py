"""PromQL helpers for the tests: which names an expression selects, which series the app and
its plugins export (from the real declarations), and which recording rules the rendered rules
file defines. A renamed metric then fails a test instead of leaving an empty panel or a silent
alert in production."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from prometheus_client import CollectorRegistry

ROOT = Path(__file__).resolve().parent.parent
RULES_FILE = ROOT / "observability/prometheus/rules/agente.rules.yml"

# PromQL functions, aggregation operators and keywords: never metric names.
PROMQL_WORDS = {
    # aggregation operators
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
    "bottomk", "topk", "quantile", "limitk", "limit_ratio",
    # keywords and binary operators
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
    "unless", "offset", "atan2", "inf", "nan",
    # functions
    "abs", "absent", "absent_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min",
    "day_of_month", "day_of_week", "day_of_year", "days_in_month", "delta", "deriv", "exp",
    "floor", "histogram_avg", "histogram_count", "histogram_fraction", "histogram_quantile",
    "histogram_stddev", "histogram_stdvar", "histogram_sum", "holt_winters", "hour", "idelta",
    "increase", "irate", "label_join", "label_replace", "ln", "log2", "log10", "minute", "month",
    "predict_linear", "rate", "resets", "round", "scalar", "sgn", "sort", "sort_desc", "sqrt",
    "time", "timestamp", "vector", "year", "avg_over_time", "min_over_time", "max_over_time",
    "sum_over_time", "count_over_time", "quantile_over_time", "stddev_over_time",
    "stdvar_over_time", "last_over_time", "present_over_time", "acos", "acosh", "asin", "asinh",
    "atan", "atanh", "cos", "cosh", "sin", "sinh", "tan", "tanh", "deg", "rad", "pi",
}  # fmt: skip

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\[\]]*\]")
_GROUPINGS = re.compile(
    r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", re.IGNORECASE
)
_OFFSETS = re.compile(r"\boffset\s+-?[0-9][0-9a-z]*", re.IGNORECASE)
_VARIABLES = re.compile(r"\$\{?\w+\}?")
_IDENTIFIER = re.compile(r"(?<![\w:.])[a-zA-Z_:][\w:]*")


def metric_names(expr: str) -> set[str]:
    """The metric (and recording rule) names a PromQL expression selects."""
    text = _STRINGS.sub(" ", expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGES.sub(" ", text)
    text = _GROUPINGS.sub(" ", text)
    text = _OFFSETS.sub(" ", text)
    text = _VARIABLES.sub(" ", text)
    return {name for name in _IDENTIFIER.findall(text) if name.lower() not in PROMQL_WORDS}


def unknown_metrics(expr: str, known: set[str]) -> set[str]:
    return metric_names(expr) - known


def _names(registry: CollectorRegistry) -> set[str]:
    names: set[str] = set()
    for family in registry.collect():
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
        if family.type == "counter":
            names.update({f"{family.name}_total", f"{family.name}_created"})
        elif family.type in ("histogram", "summary"):
            names.update(f"{family.name}{s}" for s in ("_bucket", "_sum", "_count", "_created"))
    return names


def declared_registries() -> tuple[CollectorRegistry, CollectorRegistry]:
    """The app's registry and one with every plugin's metrics, from the real declarations."""
    from agente_channel_email.channel import email_metrics
    from agente_channel_email.gmail import GmailMetrics

    from agente.flags import FlagService
    from agente.metrics import Metrics
    from agente.testing import FrozenClock
    from agente_channel_whatsapp.channel import WhatsAppMetrics
    from agente_pms_qloapps.pms import QloAppsMetrics

    metrics = Metrics()
    FlagService(redis=None, clock=FrozenClock(), registry=metrics.registry)
    plugins = CollectorRegistry()
    WhatsAppMetrics.create(plugins)
    QloAppsMetrics.create(plugins)
    GmailMetrics.create(plugins)
    email_metrics(plugins)
    return metrics.registry, plugins


def exported_metrics() -> set[str]:
    """Every series name the app and its plugins can expose."""
    app, plugins = declared_registries()
    return _names(app) | _names(plugins)


def rules_file() -> dict:
    data: dict = yaml.safe_load(RULES_FILE.read_text())
    return data


def recording_rules() -> set[str]:
    """The recording rules the committed rendering defines."""
    return {r["record"] for g in rules_file()["groups"] for r in g["rules"] if "record" in r}
