"""Settings from the environment and ``.env``: defaults, errors naming the variable, secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agente.errors import ConfigError
from agente.settings import (
    PREFIX,
    Secret,
    Settings,
    describe,
    known_names,
    load_settings,
    load_struct,
    read_environment,
    unknown_variables,
)
from tests.conftest import run_cli

# ---------------------------------------------------------------------------- defaults and errors


def test_defaults_with_an_empty_environment() -> None:
    s = load_settings({})
    assert s.env == "development"
    assert (s.host, s.port, s.workers) == ("127.0.0.1", 8000, 1)
    assert s.database_url == "sqlite+aiosqlite:///agente.db"
    assert s.redis_url is None
    assert s.channels == ["webchat"]
    assert s.pms == ["mock"]
    assert s.default_hotel == "demo"
    assert s.embedded_worker is True
    assert s.check_redis_in_readiness is True
    assert s.check_pms_in_readiness is False
    assert s.max_body_bytes == 1_048_576
    assert s.log_level == "INFO"


def test_unrelated_variables_are_ignored() -> None:
    assert load_settings({"PATH": "/bin", "PORT": "abc", "AGENTEPORT": "x"}) == load_settings({})


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("AGENTE_PORT", "abc"),
        ("AGENTE_PORT", "0"),
        ("AGENTE_PORT", "65536"),
        ("AGENTE_WORKERS", "-1"),
        ("AGENTE_CHECK_PMS_IN_READINESS", "perhaps"),
        ("AGENTE_LOG_LEVEL", "LOUD"),
        ("AGENTE_ENV", "staging"),
        ("AGENTE_READINESS_TIMEOUT", "0"),
        ("AGENTE_DATABASE_URL", "mysql://x"),
        ("AGENTE_DATABASE_URL", "agente.db"),
        ("AGENTE_REDIS_URL", "http://x"),
    ],
)
def test_a_bad_value_stops_with_an_error_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({variable: value})
    assert info.value.variable == variable
    assert variable in str(info.value)
    assert info.value.problem


@pytest.mark.parametrize(
    "variable", ["AGENTE_PORT", "AGENTE_WORKERS", "AGENTE_LOG_LEVEL", "AGENTE_REDIS_URL"]
)
def test_an_empty_value_counts_as_unset(variable: str) -> None:
    assert load_settings({variable: ""}) == load_settings({})


def test_good_values_are_converted() -> None:
    s = load_settings(
        {
            "AGENTE_PORT": "9001",
            "AGENTE_WORKERS": "3",
            "AGENTE_CHECK_PMS_IN_READINESS": "true",
            "AGENTE_EMBEDDED_WORKER": "false",
            "AGENTE_READINESS_TIMEOUT": "0.5",
            "AGENTE_LOG_LEVEL": "DEBUG",
            "AGENTE_REDIS_URL": "redis://127.0.0.1:6379/2",
        }
    )
    assert (s.port, s.workers, s.readiness_timeout, s.log_level) == (9001, 3, 0.5, "DEBUG")
    assert s.check_pms_in_readiness is True
    assert s.embedded_worker is False
    assert s.redis_url == "redis://127.0.0.1:6379/2"


def test_comma_lists_are_split_and_trimmed() -> None:
    s = load_settings({"AGENTE_CHANNELS": "webchat, whatsapp", "AGENTE_PMS": " mock ,qloapps,"})
    assert s.channels == ["webchat", "whatsapp"]
    assert s.pms == ["mock", "qloapps"]


@pytest.mark.parametrize(
    ("given_url", "expected"),
    [
        ("postgres://u:p@db:5432/agente", "postgresql+asyncpg://u:p@db:5432/agente"),
        ("postgresql://u@db/agente", "postgresql+asyncpg://u@db/agente"),
        ("postgresql+asyncpg://u@db/agente", "postgresql+asyncpg://u@db/agente"),
        ("sqlite:///agente.db", "sqlite+aiosqlite:///agente.db"),
        ("sqlite:////var/lib/agente.db", "sqlite+aiosqlite:////var/lib/agente.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_database_urls_are_normalised_to_the_async_drivers(given_url: str, expected: str) -> None:
    assert load_settings({"AGENTE_DATABASE_URL": given_url}).database_url == expected


@given(port=st.integers(min_value=1, max_value=65535))
def test_any_valid_port_is_taken_as_given(port: int) -> None:
    assert load_settings({"AGENTE_PORT": str(port)}).port == port


@given(port=st.integers(max_value=0) | st.integers(min_value=65536))
def test_any_port_out_of_range_names_agente_port(port: int) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"AGENTE_PORT": str(port)})
    assert info.value.variable == "AGENTE_PORT"


# ---------------------------------------------------------------------------- .env


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_dotenv_file_syntax(tmp_path: Path) -> None:
    env_file = write(
        tmp_path / ".env",
        "# a comment\n"
        "\n"
        "AGENTE_PORT=9100\n"
        "export AGENTE_HOST=0.0.0.0\n"
        'AGENTE_DEFAULT_HOTEL="quoted # not a comment"\n'
        "AGENTE_HOTELS_FILE='single quoted'\n"
        "AGENTE_LOG_LEVEL=DEBUG # inline comment\n"
        "  AGENTE_CHANNELS = webchat , whatsapp  \n"
        "AGENTE_REDIS_URL=\n",
    )
    env = read_environment({}, env_file)
    assert env == {
        "AGENTE_PORT": "9100",
        "AGENTE_HOST": "0.0.0.0",
        "AGENTE_DEFAULT_HOTEL": "quoted # not a comment",
        "AGENTE_HOTELS_FILE": "single quoted",
        "AGENTE_LOG_LEVEL": "DEBUG",
        "AGENTE_CHANNELS": "webchat , whatsapp",
        "AGENTE_REDIS_URL": "",
    }
    s = load_settings(env)
    assert (s.port, s.host, s.log_level) == (9100, "0.0.0.0", "DEBUG")
    assert s.channels == ["webchat", "whatsapp"]
    assert s.redis_url is None


def test_the_real_environment_wins_over_the_file(tmp_path: Path) -> None:
    env_file = write(tmp_path / ".env", "AGENTE_PORT=7000\nAGENTE_WORKERS=2\n")
    env = read_environment({"AGENTE_PORT": "9000", "OTHER": "x"}, env_file)
    assert env["AGENTE_PORT"] == "9000"
    assert env["AGENTE_WORKERS"] == "2"
    assert env["OTHER"] == "x"
    assert load_settings(env).port == 9000


def test_env_file_location_comes_from_agente_env_file(tmp_path: Path) -> None:
    env_file = write(tmp_path / "custom.env", "AGENTE_PORT=7777\n")
    env = read_environment({"AGENTE_ENV_FILE": str(env_file)})
    assert load_settings(env).port == 7777


def test_a_missing_env_file_is_fine(tmp_path: Path) -> None:
    assert read_environment({"AGENTE_PORT": "1"}, tmp_path / "absent.env") == {"AGENTE_PORT": "1"}


def test_a_malformed_line_names_the_file_and_line(tmp_path: Path) -> None:
    env_file = write(tmp_path / ".env", "AGENTE_PORT=9000\n# fine\nthis line is wrong\n")
    with pytest.raises(ConfigError) as info:
        read_environment({}, env_file)
    assert info.value.variable == f"{env_file}:3"


def test_unknown_variables_report_typos() -> None:
    env = {"AGENTE_POTR": "8000", "AGENTE_PORT": "8000", "AGENTE_ENV_FILE": ".env", "HOME": "/"}
    assert unknown_variables(env, known_names(Settings, PREFIX)) == ["AGENTE_POTR"]


# ---------------------------------------------------------------------------- secrets and plugins


def test_secret_is_masked_but_revealable() -> None:
    secret = Secret("hunter2")
    assert "hunter2" not in repr(secret)
    assert "hunter2" not in str(secret)
    assert "hunter2" not in f"{secret} {secret!r}"
    assert secret.reveal() == "hunter2"
    assert secret == Secret("hunter2")
    assert secret != Secret("other")
    assert not Secret("")


class AcmeSettings(msgspec.Struct, frozen=True, kw_only=True, rename="upper"):
    """A plugin's settings, the way a PMS plugin declares them."""

    api_key: Secret
    base_url: str = "https://pms.example"
    timeout: Annotated[float, msgspec.Meta(gt=0)] = 5.0
    properties: list[str] = msgspec.field(default_factory=list)


def test_plugin_settings_with_a_secret_load_through_load_struct() -> None:
    env = {
        "ACME_PMS_API_KEY": "s3cr3t-value",
        "ACME_PMS_TIMEOUT": "2.5",
        "ACME_PMS_PROPERTIES": "a, b",
        "AGENTE_PORT": "1",  # another prefix: ignored
    }
    s = load_struct(AcmeSettings, "ACME_PMS_", env)
    assert isinstance(s.api_key, Secret)
    assert s.api_key.reveal() == "s3cr3t-value"
    assert (s.base_url, s.timeout, s.properties) == ("https://pms.example", 2.5, ["a", "b"])
    assert "s3cr3t-value" not in repr(s)
    shown = describe(s, "ACME_PMS_")
    assert shown["ACME_PMS_API_KEY"] == "**********"
    assert "s3cr3t-value" not in str(shown)


def test_plugin_settings_errors_name_the_plugin_variable() -> None:
    with pytest.raises(ConfigError) as info:
        load_struct(AcmeSettings, "ACME_PMS_", {})
    assert info.value.variable == "ACME_PMS_API_KEY"
    assert "required" in info.value.problem
    with pytest.raises(ConfigError) as info:
        load_struct(AcmeSettings, "ACME_PMS_", {"ACME_PMS_API_KEY": "k", "ACME_PMS_TIMEOUT": "-1"})
    assert info.value.variable == "ACME_PMS_TIMEOUT"


def test_describe_hides_the_database_password() -> None:
    s = load_settings({"AGENTE_DATABASE_URL": "postgresql://u:hunter2@db/agente"})
    shown = describe(s, PREFIX)
    assert shown["AGENTE_DATABASE_URL"] == "postgresql+asyncpg://u:***@db/agente"
    assert "hunter2" not in str(shown)
    assert shown["AGENTE_CHANNELS"] == "webchat"
    assert shown["AGENTE_REDIS_URL"] == ""
    assert set(shown) == known_names(Settings, PREFIX)


# ---------------------------------------------------------------------------- the CLI


def test_cli_settings_with_a_bad_port_exits_2_naming_the_variable(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "settings", AGENTE_PORT="abc")
    assert result.returncode == 2, result.stderr
    assert "AGENTE_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_settings_prints_the_database_url_without_its_password(tmp_path: Path) -> None:
    result = run_cli(
        tmp_path, "settings", AGENTE_DATABASE_URL="postgresql://u:hunter2@h/db", AGENTE_PORT="8123"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "AGENTE_DATABASE_URL=postgresql+asyncpg://u:***@h/db" in lines
    assert "AGENTE_PORT=8123" in lines
    assert "hunter2" not in result.stdout + result.stderr


def test_cli_settings_reads_the_dotenv_file_in_the_working_directory(tmp_path: Path) -> None:
    write(tmp_path / ".env", "AGENTE_PORT=8765\nAGENTE_WORKERS=4\n")
    result = run_cli(tmp_path, "settings", AGENTE_WORKERS="2")
    assert result.returncode == 0, result.stderr
    assert "AGENTE_PORT=8765" in result.stdout.splitlines()
    assert "AGENTE_WORKERS=2" in result.stdout.splitlines()
