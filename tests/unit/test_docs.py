"""Docs kept honest: every setting a user can set is documented."""

from __future__ import annotations

from pathlib import Path

import msgspec

from agente.settings import PREFIX, Settings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def _names(struct: type, prefix: str) -> list[str]:
    info = msgspec.inspect.type_info(struct)
    assert isinstance(info, msgspec.inspect.StructType)
    return [prefix + f.encode_name for f in info.fields]


def test_every_core_setting_is_documented() -> None:
    text = DOCS.read_text()
    missing = [n for n in _names(Settings, PREFIX) if f"`{n}`" not in text]
    assert missing == []


def test_every_plugin_setting_is_documented() -> None:
    from agente.registry import CHANNELS, PMS, discover

    text = DOCS.read_text()
    missing = []
    for group in (CHANNELS, PMS):
        for item in discover(group):
            spec = item.load()
            if spec.settings_type is not None:
                missing += [
                    n for n in _names(spec.settings_type, spec.prefix) if f"`{n}`" not in text
                ]
    assert missing == []
