"""docs/metrics.md and the code agree: every exported metric is documented with its labels, and
the page names no metric the code does not export."""

from __future__ import annotations

import re
from pathlib import Path

from tests.promql import declared_registries

DOC = Path(__file__).resolve().parents[2] / "docs/metrics.md"


def declared() -> dict[str, tuple[str, set[str]]]:
    registries = declared_registries()
    out = {}
    for registry in registries:
        for family in registry.collect():
            name = family.name + ("_total" if family.type == "counter" else "")
            labels = {k for s in family.samples for k in s.labels if k not in {"le"}}
            out[name] = (family.type, labels)
    # families without samples yet (labelled metrics) report no labels: take them from the code
    for registry in registries:
        for collector in list(registry._collector_to_names):
            name = collector._name + ("_total" if collector._type == "counter" else "")
            out[name] = (collector._type, set(collector._labelnames))
    return out


def documented() -> dict[str, tuple[str, set[str]]]:
    rows = {}
    for line in DOC.read_text().splitlines():
        m = re.match(r"\| `([a-z_]+)` \|\s*(\w+)\s*\|([^|]*)\|", line)
        if m:
            labels = set(re.findall(r"`(\w+)`", re.sub(r"\([^)]*\)", "", m.group(3))))
            rows[m.group(1)] = (m.group(2), labels)
    return rows


def test_every_metric_is_documented_with_its_type_and_labels() -> None:
    code, doc = declared(), documented()
    assert set(code) == set(doc), set(code) ^ set(doc)
    for name, (kind, labels) in code.items():
        assert doc[name] == (kind, labels), name
