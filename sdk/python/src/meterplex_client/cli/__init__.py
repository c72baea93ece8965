"""The `meterplex` command (Typer + Rich): `pip install 'meterplex-client[cli]'`."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from meterplex_client.cli.app import app
    except ImportError as error:  # the SDK alone does not need Typer or Rich
        missing = error.name or "typer"
        sys.stderr.write(f"meterplex: the CLI needs {missing}: pip install 'meterplex-client[cli]'\n")
        raise SystemExit(1) from error
    app()
