"""The plugin registry: channel and PMS plugins found through entry points.

A plugin is a distribution that declares an entry point in group ``agente.channels`` or
``agente.pms`` naming a module attribute ``plugin``: a ``ChannelPlugin`` or ``PmsPlugin`` spec.
Only what the settings enable (``AGENTE_CHANNELS``, ``AGENTE_PMS``) is loaded, once, when the app
is built. An enabled plugin that is not installed, or that two distributions both provide, stops
start-up with the list of what is installed. Our slots are one-to-one and async, so no pluggy.
"""

from __future__ import annotations

import importlib.metadata as md
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Generic, Literal, TypeAlias, TypeVar

import attrs
from litestar.di import NamedDependency
from litestar.params import SkipValidation

from agente.errors import PluginError
from agente.settings import Secret

if TYPE_CHECKING:
    from agente.domain import InboundMessage
    from agente.ports import Channel, Clock, Documents, HotelLookup, PluginState, Pms, Store
    from agente.settings import Settings

__all__ = [
    "CHANNELS",
    "PMS",
    "AcceptResult",
    "ChannelPlugin",
    "Ingress",
    "IngressDependency",
    "Installed",
    "Loaded",
    "PluginContext",
    "PmsPlugin",
    "Secret",
    "discover",
    "load_enabled",
]

CHANNELS: Final = "agente.channels"
PMS: Final = "agente.pms"
Group = Literal["agente.channels", "agente.pms"]

P = TypeVar("P", "ChannelPlugin", "PmsPlugin")


@attrs.frozen
class AcceptResult:
    """What ``Ingress.accept`` stored: ids of new rows, and how many were duplicates."""

    accepted: list[int]
    duplicates: int


class Ingress:
    """What a channel's webhook routes may call: store messages durably, find hotels.

    A Protocol-shaped base class: the app provides the implementation as the named dependency
    ``ingress``.
    """

    test_mode: bool = False
    """True with ``AGENTE_ENV=test``: webhooks may echo the replies they caused."""

    async def accept(self, messages: Sequence[InboundMessage]) -> AcceptResult:
        """Store messages (deduplicated on channel and provider id) in one transaction."""
        raise NotImplementedError

    async def delivery(
        self,
        channel: str,
        provider_message_id: str,
        status: str,
        error: str | None = None,
        *,
        dead_letter: bool = False,
        resend: bool = False,
    ) -> bool:
        """A provider's status callback for a message we sent (see ``MessageStore``)."""
        raise NotImplementedError

    async def replies(self, inbox_ids: Sequence[int], timeout: float) -> list[dict[str, Any]]:
        """Test mode: wait up to ``timeout`` for these messages' replies; their bodies."""
        raise NotImplementedError

    def channel(self, name: str) -> Any:
        """The enabled channel ``name`` as built (its routes reach their own settings here)."""
        raise NotImplementedError

    async def normalize_phone(self, raw: str, *, whatsapp: bool = False) -> str | None:
        """A guest's phone as the key that finds them whichever form arrives (the flag
        ``tenancy.phone_normalization.advanced`` decides between basic and E.164)."""
        raise NotImplementedError


IngressDependency: TypeAlias = NamedDependency[SkipValidation[Ingress]]
"""How a channel's route asks for the ingress: ``ingress: IngressDependency``."""


@attrs.frozen
class PluginContext:
    """What a plugin's ``build`` receives besides its own settings.

    ``hotels`` reads the hotels' configuration; ``registry`` is the app's Prometheus registry,
    where a plugin declares its own metrics (once per app); ``documents`` holds the files the
    agent sends (a voucher to upload) and receives.
    """

    settings: Settings
    clock: Clock
    store: Store
    state: PluginState
    hotels: HotelLookup | None = None
    registry: Any = None
    documents: Documents | None = None


@attrs.frozen
class ChannelPlugin:
    """A channel plugin's spec, exported as the module attribute named by the entry point."""

    name: str
    build: Callable[[Any, PluginContext], Channel]
    settings_type: type[Any] | None = None
    settings_prefix: str | None = None
    routes: Callable[[], Sequence[Any]] | None = None
    ping: Callable[[Any], Awaitable[None]] | None = None

    @property
    def prefix(self) -> str:
        return self.settings_prefix or f"AGENTE_{self.name.upper()}_"


@attrs.frozen
class PmsPlugin:
    """A PMS plugin's spec, exported as the module attribute named by the entry point."""

    name: str
    build: Callable[[Any, PluginContext], Pms]
    settings_type: type[Any] | None = None
    settings_prefix: str | None = None

    @property
    def prefix(self) -> str:
        return self.settings_prefix or f"AGENTE_{self.name.upper()}_"


@attrs.frozen
class Installed:
    """One entry point as installed: which distribution offers which name."""

    group: str
    name: str
    value: str
    distribution: str
    version: str
    entry_point: md.EntryPoint | None = attrs.field(default=None, eq=False, repr=False)

    def load(self) -> Any:
        if self.entry_point is None:
            raise PluginError(f"{self.group} plugin {self.name!r} has no entry point to load")
        return self.entry_point.load()


@attrs.frozen
class Loaded(Generic[P]):
    """An enabled plugin: its spec, its parsed settings and where it came from."""

    spec: P
    settings: Any
    installed: Installed


def discover(group: str) -> list[Installed]:
    """Every entry point of ``group`` across installed distributions, sorted by name."""
    found = []
    for ep in md.entry_points(group=group):
        dist = ep.dist
        found.append(
            Installed(
                group=group,
                name=ep.name,
                value=ep.value,
                distribution=dist.metadata["Name"] if dist else "?",
                version=dist.version if dist else "?",
                entry_point=ep,
            )
        )
    return sorted(found, key=lambda i: (i.name, i.distribution))


def _describe(installed: Iterable[Installed]) -> str:
    items = [f"{i.name} ({i.distribution} {i.version})" for i in installed]
    return ", ".join(items) or "none"


def load_enabled(
    group: Group,
    enabled: Sequence[str],
    env: Mapping[str, str],
    *,
    installed: Sequence[Installed] | None = None,
) -> dict[str, Loaded[Any]]:
    """Load and configure the enabled plugins of ``group``; raise ``PluginError`` on any doubt."""
    from agente.settings import load_struct

    variable = "AGENTE_CHANNELS" if group == CHANNELS else "AGENTE_PMS"
    expected = ChannelPlugin if group == CHANNELS else PmsPlugin
    available = list(discover(group) if installed is None else installed)
    by_name: dict[str, list[Installed]] = {}
    for item in available:
        by_name.setdefault(item.name, []).append(item)

    loaded: dict[str, Loaded[Any]] = {}
    for name in enabled:
        if name in loaded:
            raise PluginError(f"{variable} lists {name!r} twice")
        candidates = by_name.get(name, [])
        if not candidates:
            raise PluginError(
                f"{variable} enables {name!r}, which is not installed; "
                f"installed {group} plugins: {_describe(available)}"
            )
        if len(candidates) > 1:
            raise PluginError(
                f"{group} plugin {name!r} is installed twice, by "
                + " and ".join(f"{c.distribution} {c.version} ({c.value})" for c in candidates)
                + "; uninstall one"
            )
        item = candidates[0]
        try:
            spec = item.load()
        except Exception as exc:
            raise PluginError(
                f"{group} plugin {name!r} from {item.distribution} failed to load: {exc!r}"
            ) from exc
        if not isinstance(spec, expected) or spec.name != name:
            raise PluginError(
                f"{group} entry point {name!r} ({item.value}) must point to a "
                f"{expected.__name__} named {name!r}, found {type(spec).__name__}"
            )
        settings = None
        if spec.settings_type is not None:
            settings = load_struct(spec.settings_type, spec.prefix, env)
        loaded[name] = Loaded(spec=spec, settings=settings, installed=item)
    return loaded


def plugin_variable_names(loaded: Iterable[Loaded[Any]]) -> set[str]:
    """Every variable the loaded plugins declare (for the unknown-variable check)."""
    from agente.settings import known_names

    names: set[str] = set()
    for item in loaded:
        if item.spec.settings_type is not None:
            names |= known_names(item.spec.settings_type, item.spec.prefix)
    return names
