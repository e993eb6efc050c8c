"""The one typed configuration: a TOML file plus environment overrides, validated at start.

Every key has a default, so the server starts with no file at all (the embedded demo). A file
overrides the defaults; environment variables named ``CALLCENTER__SECTION__KEY`` override the
file. Validation errors name the bad key as ``section.key`` so an operator can find it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ENV_PREFIX = "CALLCENTER__"


class ConfigError(Exception):
    """The configuration is invalid; the message names every bad key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(_Section):
    data_dir: Path = Path("var")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "text"] = "text"
    node_name: str = "cc1"
    demo: bool = True  # seed the demo configuration (queues, agents, IVR) when missing


class TlsConfig(_Section):
    enabled: bool = False
    port: int = Field(5061, ge=1, le=65535)
    certfile: Path | None = None
    keyfile: Path | None = None


class SipConfig(_Section):
    bind: str = "0.0.0.0"  # noqa: S104 - a call center listens for phones on every interface
    bind6: str | None = None
    port: int = Field(5060, ge=1, le=65535)
    udp: bool = True
    tcp: bool = True
    tls: TlsConfig = TlsConfig()
    realm: str = "callcenter.local"
    user_agent: str = "callcenter"
    advertise_address: str | None = None
    nonce_ttl: int = Field(300, ge=10, le=86400)
    # Digest algorithms offered in challenges. MD5 alone by default: baresip 1.0 and SIPp 3.6
    # give up when a SHA-256 challenge is offered (docs/sip-auth.md).
    auth_algorithms: tuple[Literal["MD5", "SHA-256"], ...] = ("MD5",)
    registration_min_expires: int = Field(60, ge=1)
    registration_max_expires: int = Field(3600, ge=60)
    echo_extension: str = "9196"
    # INVITEs from sources that are neither a trunk's inbound IP nor a registered phone:
    # accepted (the demo, a lab) or refused with 403 (production behind a carrier).
    allow_unknown_callers: bool = True
    min_session_expires: int = Field(90, ge=1, le=86400)  # RFC 4028 Min-SE
    # Overload protection: new calls get 503 + Retry-After beyond these (calls up go on).
    max_calls: int = Field(2000, ge=1)
    overload_lag_ms: int = Field(500, ge=10)

    @field_validator("realm")
    @classmethod
    def _realm_not_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("realm must not be empty")
        return v


class RtpConfig(_Section):
    port_min: int = Field(20000, ge=1024, le=65534)
    port_max: int = Field(30000, ge=1025, le=65535)
    workers: int = Field(0, ge=0, le=64)  # 0: media runs in the server process


class MediaConfig(_Section):
    # plain bridged calls relayed by the native library (callcenter.media.native): auto = when
    # it loads, else in Python; on = required (start fails without it); off = always Python
    native_relay: Literal["auto", "on", "off"] = "auto"


class WebConfig(_Section):
    host: str = "0.0.0.0"  # noqa: S104
    port: int = Field(8080, ge=1, le=65535)


class IvrConfig(_Section):
    dialplan: Path | None = None  # YAML dialplan; None: the demo dialplan
    flows_dir: Path | None = None  # extra flows (*.yaml, *.json) published over the demo ones


class DatabaseConfig(_Section):
    url: str = ""  # empty: SQLite file under server.data_dir


class Config(_Section):
    server: ServerConfig = ServerConfig()
    sip: SipConfig = SipConfig()
    rtp: RtpConfig = RtpConfig()
    media: MediaConfig = MediaConfig()
    web: WebConfig = WebConfig()
    database: DatabaseConfig = DatabaseConfig()
    ivr: IvrConfig = IvrConfig()


def _set_path(tree: dict[str, Any], path: list[str], value: str) -> None:
    node = tree
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{'.'.join(path)}: environment override conflicts with a value")
        node = child
    node[path[-1]] = value


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for name, value in environ.items():
        if name.startswith(ENV_PREFIX) and len(name) > len(ENV_PREFIX):
            path = [p.lower() for p in name[len(ENV_PREFIX) :].split("__")]
            _set_path(tree, path, value)
    return tree


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _format_errors(exc: ValidationError, source: str) -> str:
    lines = [f"invalid configuration ({source}):"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"  {key}: {msg}")
    return "\n".join(lines)


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read ``path`` (if any), apply environment overrides, validate; raise ConfigError."""
    data: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        source = str(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"configuration file not found: {path}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    data = _merge(data, _env_overrides(os.environ if environ is None else environ))
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, source)) from exc
    if config.rtp.port_min >= config.rtp.port_max:
        raise ConfigError(
            f"invalid configuration ({source}):\n  rtp.port_min: must be below rtp.port_max"
        )
    return config
