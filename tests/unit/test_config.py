from pathlib import Path

import pytest

from callcenter.cli import main
from callcenter.config import ConfigError, load_config


def test_defaults_need_no_file() -> None:
    cfg = load_config(None, environ={})
    assert cfg.sip.port == 5060
    assert cfg.web.port == 8080
    assert cfg.media.native_relay == "auto"


def test_media_native_relay_from_the_environment() -> None:
    cfg = load_config(None, environ={"CALLCENTER__MEDIA__NATIVE_RELAY": "off"})
    assert cfg.media.native_relay == "off"


def test_file_and_env_override(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text('[sip]\nport = 5070\nrealm = "example.org"\n')
    cfg = load_config(f, environ={"CALLCENTER__SIP__PORT": "5080"})
    assert cfg.sip.port == 5080
    assert cfg.sip.realm == "example.org"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[sip]\nport = 70000\n", "sip.port"),
        ("[sip]\nprot = 5060\n", "sip.prot: unknown key"),
        ("[rtp]\nport_min = 30000\nport_max = 20000\n", "rtp.port_min"),
        ('[server]\nlog_level = "loud"\n', "server.log_level"),
        ('[media]\nnative_relay = "maybe"\n', "media.native_relay"),
        ("[sip\n", "not valid TOML"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    f = tmp_path / "c.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(f, environ={})
    assert key in str(err.value)


def test_env_error_names_key() -> None:
    with pytest.raises(ConfigError, match=r"sip\.port"):
        load_config(None, environ={"CALLCENTER__SIP__PORT": "abc"})


def test_check_config_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.toml"
    good.write_text("[web]\nport = 8081\n")
    assert main(["check-config", str(good)]) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text("[web]\nport = -1\n")
    assert main(["check-config", str(bad)]) == 2
    assert "web.port" in capsys.readouterr().err
    assert main(["check-config", str(tmp_path / "missing.toml")]) == 2


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ex:
        main(["--version"])
    assert ex.value.code == 0
    assert "callcenter" in capsys.readouterr().out
