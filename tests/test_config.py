"""The config loader: defaults, environment overrides, and errors that name the key and file."""

from __future__ import annotations

from pathlib import Path

import pytest

from listd.config import ConfigError, load_config
from tests.conftest import CLI


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "listd.yaml"
    path.write_text(text)
    return path


def test_defaults_and_file_values(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "domains: [Lists.Example.org]\n"
                                         "smtp_in: {port: 2600, lmtp: true}\n"), environ={})
    assert config.domains == ("lists.example.org",)
    assert config.smtp_in.port == 2600 and config.smtp_in.lmtp is True
    assert config.smtp_in.host == "127.0.0.1"
    assert config.robot == "listd"
    assert config.outbound.mode == "maildir"


def test_environment_overrides_single_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "database: sqlite:///a.db\nsmtp_in: {port: 2600}\n")
    config = load_config(path, environ={"LISTD_DATABASE": "sqlite:///b.db",
                                        "LISTD_SMTP_IN__PORT": "2700",
                                        "LISTD_OUTBOUND__MODE": "smtp",
                                        "LISTD_DOMAINS": "[a.example.org, b.example.org]"})
    assert config.database == "sqlite:///b.db"
    assert config.smtp_in.port == 2700
    assert config.outbound.mode == "smtp"
    assert config.domains == ("a.example.org", "b.example.org")


@pytest.mark.parametrize(("variable", "message"), [
    ("LISTD_SMTP_IN__PROT", "environment variable LISTD_SMTP_IN__PROT: listd has no setting "
                            "'smtp_in.prot' (did you mean LISTD_SMTP_IN__PORT?)"),
    ("LISTD_DATABSE", "environment variable LISTD_DATABSE: listd has no setting 'databse' "
                      "(did you mean LISTD_DATABASE?)"),
])
def test_a_misspelt_environment_variable_is_named(tmp_path: Path, variable: str,
                                                  message: str) -> None:
    path = write(tmp_path, "database: sqlite:///a.db\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={variable: "25"})
    assert str(caught.value) == message


@pytest.mark.parametrize(("text", "message"), [
    ("smtp_in: {prot: 25}\n", "unknown key 'smtp_in.prot' (did you mean 'smtp_in.port'?)"),
    ("databse: sqlite:///x.db\n", "unknown key 'databse' (did you mean 'database'?)"),
    ("smtp_in: {port: twenty}\n", "'smtp_in.port' must be a whole number, not 'twenty'"),
    ("outbound: {mode: carrier-pigeon}\n", "'outbound.mode' is 'carrier-pigeon'; expected one"),
    ("smtp_in: {lmtp: maybe}\n", "'smtp_in.lmtp' must be true or false"),
    ("smtp_in: 25\n", "'smtp_in' must be a mapping"),
    ("- just\n- a list\n", "the top level must be a mapping"),
    ("domains: [a\n", "not valid YAML"),
])
def test_errors_name_the_key_and_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read config file .*nowhere\.yaml"):
        load_config(tmp_path / "nowhere.yaml", environ={})


def test_cli_reports_config_errors_in_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, "smtp_in: {prot: 25}\n")
    result = CLI(path)("list", "ls")
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"listd: error: {path}: unknown key 'smtp_in.prot' "
                                     "(did you mean 'smtp_in.port'?)")
