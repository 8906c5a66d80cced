"""Runbooks kept honest: every alert has its page, every link resolves, every ``agente`` command
parses, every ``curl`` path is a real route and every metric in PromQL exists."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.promql import recording_rules

ROOT = Path(__file__).resolve().parents[2]
RUNBOOKS = ROOT / "docs" / "runbooks"

ALERTS = {
    "dependency-down.md": "DependencyDown",
    "orchestrator-high-error-rate.md": "OrchestratorHighErrorRate",
    "orchestrator-high-latency-p95.md": "OrchestratorHighLatencyP95",
    "orchestrator-slo-degradation.md": "OrchestratorSLODegradation",
    "orchestrator-slo-burn-rate.md": "OrchestratorSLOBurnRate",
    "high-http-5xx-rate.md": "HighHttp5xxRate",
    "high-pms-latency-p95.md": "HighPmsLatencyP95",
    "circuit-breaker-open.md": "CircuitBreakerOpen",
    "whatsapp-webhook-failures.md": "WhatsAppWebhookFailures",
    "dead-letters-growing.md": "DeadLettersGrowing",
    "outbox-backlog.md": "OutboxBacklog",
    "email-mailbox-stale.md": "EmailMailboxStale",
}
OTHER_PAGES = [
    "whatsapp-not-receiving.md",
    "pms-outage.md",
    "redis-degraded.md",
    "confirm-deposit.md",
    "daily-checklist.md",
    "maintenance.md",
    "disaster-recovery.md",
]

# the recording rules of the committed rendering (observability/prometheus/rules/)
RECORDING_RULES = recording_rules()

# every env var a plugin needs to be enabled, so that its routes and metrics exist
APP_ENV = {
    "AGENTE_ENV": "test",
    "AGENTE_DATABASE_URL": "sqlite+aiosqlite:///runbooks-never-opened.db",
    "AGENTE_CHANNELS": "webchat,whatsapp,imap,gmail",
    "AGENTE_PMS": "mock,qloapps",
    "AGENTE_WHATSAPP_ACCESS_TOKEN": "token",
    "AGENTE_WHATSAPP_APP_SECRET": "secret",
    "AGENTE_WHATSAPP_VERIFY_TOKEN": "verify",
    "AGENTE_QLOAPPS_BASE_URL": "http://127.0.0.1:9",
    "AGENTE_QLOAPPS_API_KEY": "key",
    "AGENTE_IMAP_HOST": "127.0.0.1",
    "AGENTE_IMAP_USERNAME": "front@hotel.test",
    "AGENTE_IMAP_PASSWORD": "secret",
    "AGENTE_GMAIL_CLIENT_ID": "client",
    "AGENTE_GMAIL_CLIENT_SECRET": "secret",
    "AGENTE_GMAIL_REFRESH_TOKEN": "refresh",
    "AGENTE_GMAIL_ADDRESS": "front@hotel.test",
    "AGENTE_GMAIL_PUSH_AUDIENCE": "https://agente.example/webhooks/gmail",
    "AGENTE_GMAIL_PUSH_SERVICE_ACCOUNT": "push@example.iam.gserviceaccount.com",
}

PROMQL_WORDS = {
    # aggregations and keywords
    *[
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
    ],
    *[
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "and",
        "or",
        "unless",
        "bool",
        "offset",
    ],
    "inf",
    "nan",
}

_FENCE = re.compile(r"^[ \t]*```(\w*)\n(.*?)^[ \t]*```", re.S | re.M)
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_URL = re.compile(r"""(?:https?://[^/\s"']+|\$\{?[A-Za-z_]\w*\}?)(/[^\s"'?#]*)""")


def _pages() -> list[Path]:
    return sorted(RUNBOOKS.glob("*.md"))


def _blocks(lang: str) -> list[tuple[str, str]]:
    """``(page name, body)`` of every fenced block in language ``lang``."""
    out = []
    for page in _pages():
        for found, body in _FENCE.findall(page.read_text()):
            if found == lang:
                out.append((page.name, body))
    return out


def _sh_lines() -> list[tuple[str, str]]:
    lines = []
    for name, body in _blocks("sh"):
        joined = re.sub(r"\\\n\s*", " ", body)  # continuation lines
        lines += [(name, line.strip()) for line in joined.splitlines() if line.strip()]
    return lines


def test_the_pages_exist() -> None:
    names = {p.name for p in _pages()}
    missing = {"README.md", *ALERTS, *OTHER_PAGES} - names
    assert missing == set()


@pytest.mark.parametrize(("page", "alert"), sorted(ALERTS.items()))
def test_alert_page_structure(page: str, alert: str) -> None:
    text = (RUNBOOKS / page).read_text()
    assert text.splitlines()[0] == f"# {alert}"
    headings = re.findall(r"^## (.+?)\s*$", text, re.M)
    for section in ("Symptom", "Quick diagnosis", "Actions"):
        assert section in headings, f"{page}: no '## {section}'"
    assert headings.index("Symptom") < headings.index("Quick diagnosis")
    assert headings.index("Quick diagnosis") < headings.index("Actions")


def test_every_page_is_linked_from_the_index() -> None:
    linked = set(_LINK.findall((RUNBOOKS / "README.md").read_text()))
    targets = {link.split("#")[0] for link in linked}
    missing = [p.name for p in _pages() if p.name != "README.md" and p.name not in targets]
    assert missing == []


def _anchors(text: str) -> set[str]:
    """GitHub's heading anchors."""
    out = set()
    for heading in re.findall(r"^#+ (.+?)\s*$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        out.add(slug)
    return out


def test_every_relative_link_resolves() -> None:
    broken = []
    for page in _pages():
        for link in _LINK.findall(page.read_text()):
            if re.match(r"^[a-z]+:", link):
                continue
            path, _, anchor = link.partition("#")
            target = (page.parent / path).resolve() if path else page
            if not target.exists() or ROOT not in target.parents:
                broken.append(f"{page.name}: {link}")
            elif anchor and anchor not in _anchors(target.read_text()):
                broken.append(f"{page.name}: {link} (no such heading)")
    assert broken == []


def test_every_agente_command_parses() -> None:
    from agente.cli import _parser

    commands = [(n, line) for n, line in _sh_lines() if line.startswith("agente ")]
    assert len(commands) > 10
    wrong = []
    for name, line in commands:
        try:
            _parser().parse_args(shlex.split(line, comments=True)[1:])
        except SystemExit:
            wrong.append(f"{name}: {line}")
    assert wrong == []


def _route_regex(template: str) -> re.Pattern[str]:
    parts = [
        "[^/]+" if seg.startswith("{") else re.escape(seg) for seg in template.split("/") if seg
    ]
    return re.compile("^/" + "/".join(parts) + "$")


def _placeholder(segment: str) -> bool:
    return bool(re.fullmatch(r"\{[^}]*\}|<[^>]*>|\$\{?\w+\}?", segment))


@pytest.fixture(scope="module")
def routes() -> list[str]:
    from agente.app import create_app

    app = create_app(env=APP_ENV)
    return [route.path for route in app.routes]


def _serves(path: str, routes: list[str]) -> bool:
    segments = [s for s in path.split("/") if s]
    for template in routes:
        tsegs = [s for s in template.split("/") if s]
        if len(tsegs) != len(segments):
            continue
        if all(
            t.startswith("{") if _placeholder(s) else (t.startswith("{") or s == t)
            for s, t in zip(segments, tsegs, strict=True)
        ):
            return True
    return False


def test_every_curl_path_is_a_route(routes: list[str]) -> None:
    paths = []
    for name, line in _sh_lines():
        if not re.search(r"(^|[\s|;&(])curl\s", line):
            continue
        paths += [(name, p) for p in _URL.findall(line) if p]
    assert len(paths) > 10
    unknown = [f"{name}: {p}" for name, p in paths if not _serves(p, routes)]
    assert unknown == []


@pytest.fixture(scope="module")
def metric_names() -> set[str]:
    from agente.app import create_app

    app = create_app(env=APP_ENV)
    names: set[str] = set()
    for family in app.state.deps.metrics.registry.collect():
        if family.type == "counter":
            names |= {family.name + "_total", family.name + "_created"}
        elif family.type == "histogram":
            names |= {family.name + s for s in ("_bucket", "_sum", "_count", "_created")}
        else:
            names.add(family.name)
    return names


def _identifiers(expr: str) -> set[str]:
    expr = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', "", expr)  # strings
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges and subqueries
    expr = re.sub(
        r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr
    )  # label lists
    found = set()
    for match in re.finditer(r"(?<![\w.:])[A-Za-z_:][\w:]*", expr):
        rest = expr[match.end() :].lstrip()
        if rest.startswith("("):  # a function call
            continue
        if match.group().lower() in PROMQL_WORDS:
            continue
        found.add(match.group())
    return found


def test_promql_helper() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, intent) (rate(x_bucket{a="b"}[5m]))) '
        "/ ignoring(c) y:z:rate5m > 0.5 and time() - w offset 1h"
    )
    assert _identifiers(expr) == {"x_bucket", "y:z:rate5m", "w"}


def test_every_promql_metric_exists(metric_names: set[str]) -> None:
    blocks = _blocks("promql")
    assert len(blocks) > 10
    known = metric_names | RECORDING_RULES
    unknown = sorted(
        f"{name}: {ident}"
        for name, body in blocks
        for ident in _identifiers(body)
        if ident not in known
    )
    assert unknown == []


def test_every_setting_named_is_a_documented_setting() -> None:
    settings_doc = (ROOT / "docs/settings.md").read_text()
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", settings_doc))
    named = {
        (page.name, var)
        for page in _pages()
        for var in re.findall(r"\b(AGENTE_[A-Z0-9_]*[A-Z0-9])\b", page.read_text())
    }
    unknown = sorted((p, v) for p, v in named if v not in documented)
    assert unknown == []
