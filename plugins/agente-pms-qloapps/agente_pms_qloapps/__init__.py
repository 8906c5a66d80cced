"""The QloApps 1.6.1 PMS plugin for Agente (entry point ``agente.pms: qloapps``).

``pms.py`` is the ``Pms`` port over the webservice; ``wire.py`` its JSON and XML; ``replay.py``
a local server answering like a real QloApps 1.6.1, built from recorded exchanges, for tests
and demos. Settings: ``AGENTE_QLOAPPS_*`` (docs/settings.md); per hotel, ``pms.options``.
"""

from __future__ import annotations

from agente.registry import PluginContext, PmsPlugin
from agente_pms_qloapps.pms import QloAppsMetrics, QloAppsPms, QloAppsSettings

__all__ = ["QloAppsPms", "QloAppsSettings", "plugin"]


def build(settings: QloAppsSettings | None, ctx: PluginContext) -> QloAppsPms:
    store = ctx.store
    primary = getattr(store, "primary", None)  # Redis behind the fallback store, when configured
    return QloAppsPms(
        settings=settings or QloAppsSettings(),
        clock=ctx.clock,
        store=store,
        metrics=QloAppsMetrics.create(ctx.registry),
        redis=getattr(primary, "client", None),
    )


plugin = PmsPlugin(
    name="qloapps", build=build, settings_type=QloAppsSettings, settings_prefix="AGENTE_QLOAPPS_"
)
"""The entry point ``agente.pms: qloapps``."""
