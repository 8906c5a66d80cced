"""E-mail channels for Agente: ``imap`` (any IMAP/SMTP mailbox) on the shared e-mail core
``agente.mail`` (see docs/email.md)."""

from __future__ import annotations

from typing import Any

from agente.registry import ChannelPlugin, PluginContext
from agente_channel_email.imap import ImapChannel, ImapChannelSettings


def build_imap(settings: ImapChannelSettings, ctx: PluginContext) -> ImapChannel:
    return ImapChannel(settings, ctx)


async def _ping(channel: Any) -> None:
    await channel.ping()


imap = ChannelPlugin(
    name="imap",
    build=build_imap,
    settings_type=ImapChannelSettings,
    settings_prefix="AGENTE_IMAP_",
    ping=_ping,
)
"""The entry point ``agente.channels: imap``."""
