"""E-mail channels for Agente on the shared e-mail core ``agente.mail`` (see docs/email.md):
``imap`` (any IMAP/SMTP mailbox) and ``gmail`` (the Gmail API with Pub/Sub push)."""

from __future__ import annotations

from typing import Any

from agente.registry import ChannelPlugin, PluginContext
from agente_channel_email.gmail import GmailChannel, GmailSettings
from agente_channel_email.imap import ImapChannel, ImapChannelSettings


def build_imap(settings: ImapChannelSettings, ctx: PluginContext) -> ImapChannel:
    return ImapChannel(settings, ctx)


def build_gmail(settings: GmailSettings, ctx: PluginContext) -> GmailChannel:
    return GmailChannel(settings, ctx)


async def _ping(channel: Any) -> None:
    await channel.ping()


def _gmail_routes() -> list[Any]:
    from agente_channel_email.routes import push

    return [push]


imap = ChannelPlugin(
    name="imap",
    build=build_imap,
    settings_type=ImapChannelSettings,
    settings_prefix="AGENTE_IMAP_",
    ping=_ping,
)
"""The entry point ``agente.channels: imap``."""

gmail = ChannelPlugin(
    name="gmail",
    build=build_gmail,
    settings_type=GmailSettings,
    settings_prefix="AGENTE_GMAIL_",
    routes=_gmail_routes,
    ping=_ping,
)
"""The entry point ``agente.channels: gmail``."""
