"""Command line: ``callcenter serve``, ``check-config FILE`` and ``--version``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from callcenter import __version__
from callcenter.config import ConfigError, load_config


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="callcenter", description="Open-source call center server")
    p.add_argument("--version", action="version", version=f"callcenter {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="start the call center")
    serve.add_argument("-c", "--config", type=Path, default=None, help="TOML configuration file")
    check = sub.add_parser("check-config", help="validate a configuration file and exit")
    check.add_argument("file", type=Path)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = load_config(args.config if args.command == "serve" else args.file)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.command == "check-config":
        print(f"{args.file}: configuration is valid")
        return 0
    from callcenter.runtime import run

    return run(config)
