"""Configuration errors stop start-up with one line naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.config import ConfigError, load_settings


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"KEYLEDGER_PORT": "eighty"}, "KEYLEDGER_PORT"),
        ({"KEYLEDGER_PORT": "70000"}, "KEYLEDGER_PORT"),
        ({"KEYLEDGER_LOG_FORMAT": "xml"}, "KEYLEDGER_LOG_FORMAT"),
        ({"KEYLEDGER_SUBJECT_PREFIX": "a.>"}, "KEYLEDGER_SUBJECT_PREFIX"),
        ({"KEYLEDGER_RATE_LIMIT_LOGIN_PER_S": "-1"}, "KEYLEDGER_RATE_LIMIT_LOGIN_PER_S"),
        ({"KEYLEDGER_RATE_LIMIT_CLIENT_PER_S": "nan"}, "KEYLEDGER_RATE_LIMIT_CLIENT_PER_S"),
        ({"KEYLEDGER_RATE_LIMIT_PAGE_BURST": "0"}, "KEYLEDGER_RATE_LIMIT_PAGE_BURST"),
        ({"KEYLEDGER_RATE_LIMIT_WINDOW_S": "0"}, "KEYLEDGER_RATE_LIMIT_WINDOW_S"),
    ],
)
def test_a_bad_value_names_its_variable_in_one_line(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ)
    message = str(caught.value)
    assert message.startswith(variable)
    assert "\n" not in message


def test_variables_override_the_file_and_defaults(tmp_path: Path) -> None:
    config = tmp_path / "keyledger.toml"
    config.write_text('port = 9000\nhost = "127.0.0.2"\n')
    settings = load_settings({"KEYLEDGER_CONFIG": str(config), "KEYLEDGER_PORT": "9100"})
    assert (settings.port, settings.host, settings.database_url) == (9100, "127.0.0.2", None)


def test_an_unknown_key_in_the_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "keyledger.toml"
    config.write_text("prot = 9000\n")
    with pytest.raises(ConfigError, match="prot"):
        load_settings({"KEYLEDGER_CONFIG": str(config)})
