"""Settings from the environment (prefix ``AGENTE_``) and an optional ``.env`` file.

The only module that reads ``os.environ``. Each concern is a frozen Struct with ``rename="upper"``;
field ``port`` is variable ``AGENTE_PORT``. A bad or missing value raises ``ConfigError`` naming the
variable; an ``AGENTE_*`` variable that nothing declares is reported (typos). Variables already in
the environment win over the ``.env`` file. Every variable is documented in ``docs/settings.md``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import msgspec

from agente.errors import ConfigError

__all__ = [
    "PREFIX",
    "Secret",
    "Settings",
    "describe",
    "load_settings",
    "load_struct",
    "read_environment",
    "redact_url",
]

PREFIX = "AGENTE_"
T = TypeVar("T")


class Secret:
    """A secret string whose repr and str are masked, so it cannot leak into logs by accident."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The real value, for the one place that must send it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
Positive = Annotated[int, msgspec.Meta(ge=1)]
PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]
Ratio = Annotated[float, msgspec.Meta(ge=0, le=1)]


class Settings(msgspec.Struct, frozen=True, kw_only=True, rename="upper"):
    """Core settings; see docs/settings.md for each variable's meaning and default."""

    env: Literal["development", "test", "production"] = "development"
    """Deployment kind. ``test`` enables test-mode echoes on the web chat endpoint."""
    host: str = "127.0.0.1"
    """Address ``agente serve`` binds to."""
    port: Port = 8000
    """Port ``agente serve`` listens on."""
    workers: Positive = 1
    """Granian worker processes for ``agente serve``."""
    worker_metrics_port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 9464
    """Port where ``agente worker`` serves its own ``/metrics``, on ``host``; 0 serves none."""
    database_url: str = "sqlite+aiosqlite:///agente.db"
    """SQLAlchemy URL: SQLite (embedded default, a file under the current directory) or PostgreSQL."""
    database_pool_size: Positive = 20
    """Connections each process keeps open to PostgreSQL (ignored for SQLite)."""
    redis_url: str | None = None
    """Redis URL; when unset the store lives in process (single-process only)."""
    channels: list[str] = msgspec.field(default_factory=lambda: ["webchat"])
    """Channel plugins to enable, comma-separated."""
    pms: list[str] = msgspec.field(default_factory=lambda: ["mock"])
    """PMS plugins to enable, comma-separated."""
    hotels_file: str | None = None
    """TOML file with hotels to seed; the packaged demo hotel when unset."""
    default_hotel: str = "demo"
    """Hotel served by the web chat page at ``/`` and by ``agente chat``."""
    embedded_worker: bool = True
    """Run the message worker inside ``agente serve`` (turn off when running ``agente worker``)."""
    auto_migrate: bool = True
    """Apply database migrations and seed hotels when ``serve``, ``worker`` or ``chat`` start."""
    check_redis_in_readiness: bool = True
    """Whether ``/health/ready`` fails when the configured Redis is unreachable."""
    check_pms_in_readiness: bool = False
    """Whether ``/health/ready`` pings the PMS of every hotel."""
    readiness_timeout: PositiveFloat = 2.0
    """Seconds each readiness probe may take."""
    admin_rate_limit: Positive = 60
    """Admin API requests one key may make per minute (shared across processes with Redis)."""
    session_secret: Secret | None = None
    """Signs the dashboard's session cookies; unset, one is generated and kept in the database."""
    handoff_timeout_minutes: Positive = 240
    """After a handoff, minutes the bot stays silent unless staff release the conversation."""
    flags_cache_seconds: PositiveFloat = 5.0
    """How long a process reuses its feature-flag snapshot before reading Redis again."""
    business_hours_always_open: bool = False
    """Treat staff as always available (tests; the operations manual forces it in test runs)."""
    worker_concurrency: Positive = 4
    """Messages one worker process handles at once (different conversations only)."""
    worker_poll_interval: PositiveFloat = 0.2
    """Seconds an idle worker waits before polling the inbox again."""
    lease_seconds: PositiveFloat = 30.0
    """How long a claimed message stays with its worker before another may take it."""
    inbox_max_attempts: Positive = 3
    """Attempts at handling an inbound message before it goes to the dead-letter table."""
    outbox_max_attempts: Positive = 6
    """Delivery attempts for a reply before it goes to the dead-letter table."""
    outbox_backoff_base: PositiveFloat = 1.0
    """First retry delay in seconds; doubles each attempt, with jitter."""
    outbox_backoff_max: PositiveFloat = 300.0
    """Upper bound of the retry delay, seconds."""
    max_body_bytes: Positive = 1_048_576
    """Largest request body accepted; larger gets 413."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Lowest log level written."""
    log_format: Literal["auto", "json", "console"] = "auto"
    """``auto`` is console on a terminal and JSON otherwise."""
    backup_to: str = "backups"
    """Where ``agente backup`` stores and ``agente restore`` looks: a directory (``daily/`` and
    ``weekly/`` under it) or ``s3://bucket/prefix``."""
    backup_keep_daily: Positive = 7
    """Daily backups kept (the newest ones)."""
    backup_keep_weekly: Annotated[int, msgspec.Meta(ge=0)] = 4
    """Weekly backups kept (the first backup of each ISO week)."""
    backup_max_age_days: Annotated[int, msgspec.Meta(ge=0)] = 90
    """Backups older than this are deleted whatever the counts (0: no age limit)."""
    backup_s3_endpoint_url: str | None = None
    """An S3-compatible endpoint (MinIO, R2, Tigris …); unset, AWS S3."""
    backup_s3_region: str | None = None
    """The bucket's region, when the endpoint needs one."""
    retention_messages_days: Positive = 180
    """``agente maintenance`` deletes handled messages, sent replies and replayed dead letters
    older than this."""
    retention_logs_days: Positive = 365
    """``agente maintenance`` deletes audit-log entries and read staff notifications older than
    this."""
    retention_pii_days: Positive = 90
    """``agente maintenance`` removes guests' names, phones, e-mails and message texts from
    conversations closed (no message, no open booking) for this long."""


def read_environment(
    environ: Mapping[str, str] | None = None, env_file: str | Path | None = None
) -> dict[str, str]:
    """The variables in force: ``.env`` (or ``AGENTE_ENV_FILE``) under the real environment."""
    env = dict(os.environ if environ is None else environ)
    path = Path(env_file or env.get(f"{PREFIX}ENV_FILE", ".env"))
    merged: dict[str, str] = {}
    if path.is_file():
        merged.update(_parse_dotenv(path.read_text(encoding="utf-8"), str(path)))
    merged.update(env)
    return merged


_DOTENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def _parse_dotenv(text: str, origin: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _DOTENV_LINE.match(line)
        if not match:
            raise ConfigError(f"{origin}:{number}", "expected NAME=value")
        name, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        out[name] = value
    return out


def _list_fields(struct_type: type[Any]) -> set[str]:
    info = msgspec.inspect.type_info(struct_type)
    assert isinstance(info, msgspec.inspect.StructType)
    names = set()
    for field in info.fields:
        inner = field.type
        if isinstance(inner, msgspec.inspect.UnionType):
            inner = next(
                (t for t in inner.types if not isinstance(t, msgspec.inspect.NoneType)), inner
            )
        if isinstance(inner, msgspec.inspect.ListType | msgspec.inspect.SetType):
            names.add(field.encode_name)
    return names


def _dec_hook(type_: type, obj: Any) -> Any:
    if type_ is Secret and isinstance(obj, str):
        return Secret(obj)
    raise NotImplementedError


def load_struct(struct_type: type[T], prefix: str, env: Mapping[str, str]) -> T:
    """Build a settings Struct from the variables starting with ``prefix``.

    Empty values count as unset. Lists are comma-separated. Errors name the variable.
    """
    lists = _list_fields(struct_type)
    raw: dict[str, Any] = {}
    for name, value in env.items():
        if not name.startswith(prefix):
            continue
        key = name[len(prefix) :]
        if value == "":
            continue
        raw[key] = [v.strip() for v in value.split(",") if v.strip()] if key in lists else value
    try:
        return msgspec.convert(raw, struct_type, strict=False, dec_hook=_dec_hook)
    except msgspec.ValidationError as exc:
        message = str(exc)
        match = re.search(r"at `\$\.([A-Z0-9_]+)", message)
        variable = prefix + match.group(1) if match else prefix + "*"
        problem = message.split(" - at ")[0]
        if "missing required field" in message.lower():
            missing = re.search(r"`([A-Z0-9_]+)`", message)
            variable = prefix + (missing.group(1) if missing else "*")
            problem = "is required but not set"
        raise ConfigError(variable, problem) from None


def known_names(struct_type: type[Any], prefix: str) -> set[str]:
    info = msgspec.inspect.type_info(struct_type)
    assert isinstance(info, msgspec.inspect.StructType)
    return {prefix + f.encode_name for f in info.fields}


_SCHEMES = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Core settings from ``env`` (default: the process environment plus ``.env``)."""
    env = read_environment() if env is None else env
    settings = load_struct(Settings, PREFIX, env)
    scheme, sep, rest = settings.database_url.partition("://")
    if not sep or scheme not in _SCHEMES:
        raise ConfigError(
            f"{PREFIX}DATABASE_URL",
            "must start with sqlite:// or postgresql:// (drivers aiosqlite and asyncpg)",
        )
    if settings.redis_url is not None and not settings.redis_url.startswith(
        ("redis://", "rediss://", "unix://")
    ):
        raise ConfigError(f"{PREFIX}REDIS_URL", "must start with redis://, rediss:// or unix://")
    return msgspec.structs.replace(settings, database_url=f"{_SCHEMES[scheme]}://{rest}")


def unknown_variables(env: Mapping[str, str], known: set[str]) -> list[str]:
    """``AGENTE_*`` variables that no settings Struct declares: likely typos."""
    ignored = {f"{PREFIX}ENV_FILE"}
    return sorted(n for n in env if n.startswith(PREFIX) and n not in known | ignored)


def redact_url(url: str) -> str:
    """The URL with any password replaced by ``***``."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def describe(struct: msgspec.Struct, prefix: str) -> dict[str, str]:
    """Variable → printable value, secrets masked and URL passwords hidden."""
    out: dict[str, str] = {}
    for field in msgspec.structs.fields(struct):
        value = getattr(struct, field.name)
        if isinstance(value, list):
            shown = ",".join(map(str, value))
        elif isinstance(value, str) and "://" in value:
            shown = redact_url(value)
        else:
            shown = "" if value is None else str(value)
        out[prefix + field.encode_name] = shown
    return out
