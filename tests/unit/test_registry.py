"""The plugin registry on real entry points: discovery, enabling, and every way it refuses."""

from __future__ import annotations

import importlib.metadata as md
import json
import textwrap
from pathlib import Path

import pytest

from agente.errors import ConfigError, PluginError
from agente.registry import (
    CHANNELS,
    PMS,
    ChannelPlugin,
    Installed,
    PmsPlugin,
    discover,
    load_enabled,
)
from tests.conftest import run_cli

AGENTE_VERSION = md.version("agente")
MOCK_VERSION = md.version("agente-pms-mock")


def fake_distribution(
    root: Path, dist: str, version: str, entry_points: str, module: str, source: str
) -> None:
    """A distribution as an installer leaves it: ``<name>-<version>.dist-info`` plus its module."""
    info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(entry_points, encoding="utf-8")
    (root / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")


@pytest.fixture
def duplicate_mock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A second distribution, ``fake-dup``, that also provides the PMS plugin ``mock``."""
    fake_distribution(
        tmp_path,
        "fake-dup",
        "1.0",
        "[agente.pms]\nmock = fake_dup_mod:plugin\n",
        "fake_dup_mod",
        """
        from agente.registry import PmsPlugin

        def build(settings, ctx):
            raise AssertionError("never built")

        plugin = PmsPlugin(name="mock", build=build)
        """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


# ---------------------------------------------------------------------------- discovery


def test_discover_finds_the_mock_pms_from_its_distribution() -> None:
    found = {i.name: i for i in discover(PMS)}
    assert "mock" in found
    mock = found["mock"]
    assert (mock.group, mock.distribution, mock.version) == (PMS, "agente-pms-mock", MOCK_VERSION)
    assert mock.value == "agente_pms_mock:plugin"


def test_discover_finds_the_builtin_webchat_channel() -> None:
    found = {i.name: i for i in discover(CHANNELS)}
    assert "webchat" in found
    webchat = found["webchat"]
    assert (webchat.distribution, webchat.version) == ("agente", AGENTE_VERSION)
    assert webchat.value == "agente.webchat:plugin"


def test_discover_of_an_unknown_group_is_empty() -> None:
    assert discover("agente.nothing") == []


# ---------------------------------------------------------------------------- load_enabled


def test_load_enabled_loads_and_configures_the_enabled_plugins() -> None:
    pms = load_enabled(PMS, ["mock"], {"AGENTE_MOCK_PMS_FAILURE_RATE": "0.25"})
    assert list(pms) == ["mock"]
    assert isinstance(pms["mock"].spec, PmsPlugin)
    assert pms["mock"].settings.failure_rate == 0.25
    assert pms["mock"].installed.distribution == "agente-pms-mock"
    channels = load_enabled(CHANNELS, ["webchat"], {})
    assert isinstance(channels["webchat"].spec, ChannelPlugin)
    assert channels["webchat"].settings is None
    assert load_enabled(PMS, [], {}) == {}


def test_an_enabled_plugin_that_is_not_installed_lists_what_is() -> None:
    with pytest.raises(PluginError) as info:
        load_enabled(PMS, ["opera"], {})
    message = str(info.value)
    assert "AGENTE_PMS" in message
    assert "'opera'" in message
    assert "not installed" in message
    assert f"mock (agente-pms-mock {MOCK_VERSION})" in message


def test_a_missing_channel_names_agente_channels() -> None:
    with pytest.raises(PluginError) as info:
        load_enabled(CHANNELS, ["webchat", "telegram"], {})
    assert "AGENTE_CHANNELS" in str(info.value)
    assert "'telegram'" in str(info.value)
    assert f"webchat (agente {AGENTE_VERSION})" in str(info.value)
    assert "whatsapp (agente-channel-whatsapp" in str(info.value)


def test_whatsapp_enabled_without_its_secrets_stops_naming_the_variable() -> None:
    from agente.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        load_enabled(CHANNELS, ["webchat", "whatsapp"], {})
    assert "AGENTE_WHATSAPP_ACCESS_TOKEN" in str(info.value)
    env = {
        "AGENTE_WHATSAPP_ACCESS_TOKEN": "EAAGtoken123", "AGENTE_WHATSAPP_APP_SECRET": "s",
        "AGENTE_WHATSAPP_VERIFY_TOKEN": "v", "AGENTE_WHATSAPP_MESSAGES_PER_SECOND": "fast",
    }  # fmt: skip
    with pytest.raises(ConfigError) as info:
        load_enabled(CHANNELS, ["whatsapp"], env)
    assert "AGENTE_WHATSAPP_MESSAGES_PER_SECOND" in str(info.value)
    loaded = load_enabled(
        CHANNELS, ["whatsapp"], {**env, "AGENTE_WHATSAPP_MESSAGES_PER_SECOND": "20"}
    )
    assert "EAAGtoken123" not in repr(loaded["whatsapp"].settings)  # the secret is masked


def test_the_same_name_enabled_twice_is_refused() -> None:
    with pytest.raises(PluginError) as info:
        load_enabled(PMS, ["mock", "mock"], {})
    assert "AGENTE_PMS lists 'mock' twice" in str(info.value)


def test_a_plugin_installed_twice_is_refused_naming_both_distributions(
    duplicate_mock: Path,
) -> None:
    assert [i.distribution for i in discover(PMS) if i.name == "mock"] == [
        "agente-pms-mock",
        "fake-dup",
    ]
    with pytest.raises(PluginError) as info:
        load_enabled(PMS, ["mock"], {})
    message = str(info.value)
    assert "installed twice" in message
    assert f"agente-pms-mock {MOCK_VERSION} (agente_pms_mock:plugin)" in message
    assert "fake-dup 1.0 (fake_dup_mod:plugin)" in message


def test_an_entry_point_to_the_wrong_kind_of_object_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_distribution(
        tmp_path,
        "fake-wrong",
        "2.0",
        "[agente.pms]\nwrongkind = fake_wrong_mod:plugin\n"
        "[agente.channels]\nnotaplugin = fake_wrong_mod:something_else\n",
        "fake_wrong_mod",
        """
        from agente.registry import ChannelPlugin

        plugin = ChannelPlugin(name="wrongkind", build=lambda settings, ctx: None)
        something_else = {"name": "notaplugin"}
        """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError) as info:
        load_enabled(PMS, ["wrongkind"], {})
    assert "must point to a PmsPlugin named 'wrongkind', found ChannelPlugin" in str(info.value)
    with pytest.raises(PluginError) as info:
        load_enabled(CHANNELS, ["notaplugin"], {})
    assert "must point to a ChannelPlugin" in str(info.value)
    assert "found dict" in str(info.value)


def test_an_entry_point_whose_spec_has_another_name_is_refused() -> None:
    other = Installed(
        group=PMS,
        name="other",
        value="agente_pms_mock:plugin",
        distribution="someone-else",
        version="9",
        entry_point=md.EntryPoint(name="other", value="agente_pms_mock:plugin", group=PMS),
    )
    with pytest.raises(PluginError) as info:
        load_enabled(PMS, ["other"], {}, installed=[other])
    assert "must point to a PmsPlugin named 'other'" in str(info.value)


def test_an_entry_point_that_fails_to_import_is_a_plugin_error() -> None:
    broken = Installed(
        group=PMS,
        name="broken",
        value="agente_no_such_module_xyz:plugin",
        distribution="broken-dist",
        version="1",
        entry_point=md.EntryPoint(
            name="broken", value="agente_no_such_module_xyz:plugin", group=PMS
        ),
    )
    with pytest.raises(PluginError) as info:
        load_enabled(PMS, ["broken"], {}, installed=[broken])
    assert "'broken' from broken-dist failed to load" in str(info.value)
    assert "agente_no_such_module_xyz" in str(info.value)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("AGENTE_MOCK_PMS_FAILURE_RATE", "2"),
        ("AGENTE_MOCK_PMS_LATENCY_MS", "-5"),
        ("AGENTE_MOCK_PMS_SEED", "not-a-number"),
    ],
)
def test_bad_plugin_settings_name_the_plugin_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_enabled(PMS, ["mock"], {variable: value})
    assert info.value.variable == variable


# ---------------------------------------------------------------------------- the CLI


def table(stdout: str) -> dict[tuple[str, str], list[str]]:
    """``agente plugins`` output as (group, name) → [distribution, version, state]."""
    lines = stdout.splitlines()
    assert lines[0].split() == ["GROUP", "NAME", "DISTRIBUTION", "VERSION", "STATE"]
    rows: dict[tuple[str, str], list[str]] = {}
    for line in lines[1:]:
        group, name, dist, version, state = line.split(maxsplit=4)
        rows[(group, name)] = [dist, version, state]
    return rows


def test_cli_plugins_lists_installed_and_enabled_plugins(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "plugins")
    assert result.returncode == 0, result.stderr
    rows = table(result.stdout)
    assert rows[(CHANNELS, "webchat")] == ["agente", AGENTE_VERSION, "enabled"]
    assert rows[(PMS, "mock")] == ["agente-pms-mock", MOCK_VERSION, "enabled"]


def test_cli_plugins_shows_an_enabled_plugin_that_is_not_installed(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "plugins", AGENTE_PMS="opera")
    assert result.returncode == 0, result.stderr
    rows = table(result.stdout)
    assert rows[(PMS, "opera")] == ["-", "-", "enabled, NOT INSTALLED"]
    assert rows[(PMS, "mock")] == ["agente-pms-mock", MOCK_VERSION, "installed"]

    as_json = run_cli(tmp_path, "plugins", "--json", AGENTE_PMS="opera")
    assert as_json.returncode == 0, as_json.stderr
    assert {
        "group": PMS,
        "name": "opera",
        "distribution": "-",
        "version": "-",
        "state": "enabled, NOT INSTALLED",
    } in json.loads(as_json.stdout)


def test_cli_plugins_flags_a_duplicate(tmp_path: Path, duplicate_mock: Path) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    result = run_cli(cwd, "plugins", PYTHONPATH=str(duplicate_mock))
    assert result.returncode == 0, result.stderr
    assert "enabled (DUPLICATE)" in result.stdout
    assert "fake-dup" in result.stdout


def test_startup_with_a_pms_that_is_not_installed_stops_with_exit_2(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "chat", "--jsonl", stdin="", AGENTE_PMS="opera")
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "opera" in result.stderr
    assert "mock" in result.stderr
    assert "not installed" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_startup_with_a_bad_plugin_setting_stops_with_exit_2(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "chat", "--jsonl", stdin="", AGENTE_MOCK_PMS_FAILURE_RATE="2")
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "AGENTE_MOCK_PMS_FAILURE_RATE" in result.stderr
    assert "Traceback" not in result.stderr
