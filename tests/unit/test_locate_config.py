"""The one rule that finds chatd's configuration file and data directory (locate_config)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatd.config import ConfigError, locate_config


def test_nothing_named_gives_defaults_in_the_current_directory(tmp_path: Path) -> None:
    """No flag, variable or ./config.toml: defaults, data in ./chatd-data made absolute."""
    config, origins = locate_config(None, None, environ={}, cwd=tmp_path)
    assert config.server.data_dir == str(tmp_path / "chatd-data")
    assert origins.config_file is None and origins.data_dir_is_default


def test_config_file_data_dir_is_relative_to_the_file(tmp_path: Path) -> None:
    """A relative data_dir in a config file means the same directory from any working dir."""
    conf = tmp_path / "etc" / "chatd.toml"
    conf.parent.mkdir()
    conf.write_text('[server]\ndata_dir = "../var/chatd"\nport = 9000\n')
    for cwd in (tmp_path, conf.parent):
        config, origins = locate_config(str(conf), None, environ={}, cwd=cwd)
        assert config.server.data_dir == str(tmp_path / "var" / "chatd")
        assert config.server.port == 9000
        assert origins.data_from == f"from [server] data_dir in {conf}"
        assert not origins.data_dir_is_default


def test_command_line_wins_and_paths_are_normalised(tmp_path: Path) -> None:
    """--data-dir beats file and variable; relative to the working dir, '..' resolved; the
    other [server] flags override the file."""
    conf = tmp_path / "config.toml"
    conf.write_text('[server]\ndata_dir = "file-data"\nport = 9000\n')
    config, origins = locate_config(
        None,
        "a/../flag-data",
        overrides={"port": 9100, "host": None},
        environ={"CHATD_DATA_DIR": "/elsewhere"},
        cwd=tmp_path,
    )
    assert origins.config_file == conf and origins.config_from == "./config.toml"
    assert config.server.data_dir == str(tmp_path / "flag-data")
    assert config.server.port == 9100 and config.server.host == "127.0.0.1"


def test_variables_name_the_file_and_the_data(tmp_path: Path) -> None:
    """CHATD_CONFIG names the file when --config does not; CHATD_DATA_DIR the data when neither
    flag nor file does; ~ is the home directory."""
    conf = tmp_path / "c.toml"
    conf.write_text("[log]\nlevel = 'debug'\n")
    env = {"CHATD_CONFIG": "c.toml", "CHATD_DATA_DIR": "~/chatd-data"}
    config, origins = locate_config(None, None, environ=env, cwd=tmp_path)
    assert origins.config_file == conf and origins.config_from == "CHATD_CONFIG"
    assert config.log.level == "debug"
    assert config.server.data_dir == str(Path.home() / "chatd-data")
    assert origins.data_from == "from CHATD_DATA_DIR"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[server]\ndata_dir = 5\n", "server.data_dir: expected a string"),
        ("server = 3\n", "server: expected a table"),
    ],
)
def test_bad_data_dir_in_the_file_is_reported_by_key(
    tmp_path: Path, toml: str, message: str
) -> None:
    """A data_dir of the wrong type is not silently replaced: the error names the key."""
    conf = tmp_path / "config.toml"
    conf.write_text(toml)
    with pytest.raises(ConfigError, match=message):
        locate_config(str(conf), None, environ={}, cwd=tmp_path)


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    """--config naming no file (or a directory) is a ConfigError naming the path."""
    with pytest.raises(ConfigError, match="config file not found"):
        locate_config("nope.toml", None, environ={}, cwd=tmp_path)
    with pytest.raises(ConfigError, match="config file is a directory"):
        locate_config(".", None, environ={}, cwd=tmp_path)
