"""The WhatsApp Business Cloud API channel for Agente (entry point ``agente.channels: whatsapp``).

Inbound: ``GET/POST /webhooks/whatsapp`` (``routes.py``). Outbound: ``WhatsAppChannel.send``
(``channel.py``). Meta's JSON and its translation to Agente's messages: ``wire.py``. A local fake
of the Graph API for tests and demos: ``fake.py``. The spec this follows is
shared/docs/channels/whatsapp.md; the plugin's settings are ``AGENTE_WHATSAPP_*``.
"""

from __future__ import annotations

from typing import Any

from agente.registry import ChannelPlugin, PluginContext
from agente_channel_whatsapp.channel import WhatsAppChannel, WhatsAppMetrics, WhatsAppSettings

__all__ = ["WhatsAppChannel", "WhatsAppSettings", "plugin"]


def build(settings: WhatsAppSettings, ctx: PluginContext) -> WhatsAppChannel:
    return WhatsAppChannel(
        settings=settings,
        clock=ctx.clock,
        store=ctx.store,
        hotels=ctx.hotels,
        documents=ctx.documents,
        metrics=WhatsAppMetrics.create(ctx.registry),
    )


def _routes() -> list[Any]:
    from agente_channel_whatsapp.routes import handshake, receive

    return [handshake, receive]


async def _ping(channel: WhatsAppChannel) -> None:
    await channel.ping()


plugin = ChannelPlugin(
    name="whatsapp",
    build=build,
    settings_type=WhatsAppSettings,
    settings_prefix="AGENTE_WHATSAPP_",
    routes=_routes,
    ping=_ping,
)
"""The entry point ``agente.channels: whatsapp``."""
