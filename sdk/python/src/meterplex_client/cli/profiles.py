"""CLI profiles: where `meterplex login` keeps the session, and the API key it may use.

`$MP_CONFIG_DIR` (default `$XDG_CONFIG_HOME/meterplex`, i.e. `~/.config/meterplex`) holds
`credentials.json` — one entry per profile — written atomically with mode 0600 in a 0700 directory:
it contains refresh tokens and API keys.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

CREDENTIALS = "credentials.json"
DEFAULT_PROFILE = "default"


def config_dir() -> Path:
    configured = os.environ.get("MP_CONFIG_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "meterplex"


@dataclass
class Profile:
    base_url: str | None = None
    email: str | None = None
    access_token: str | None = None
    refresh_token: str | None = None
    tenant_id: str | None = None
    tenant_slug: str | None = None
    api_key: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"profiles": {}}
    return data if isinstance(data, dict) and isinstance(data.get("profiles"), dict) else {"profiles": {}}


def load(name: str = DEFAULT_PROFILE) -> Profile:
    entry = _read(config_dir() / CREDENTIALS)["profiles"].get(name) or {}
    known = {k: v for k, v in entry.items() if k in Profile.__dataclass_fields__}
    return Profile(**known)


def save(name: str, profile: Profile) -> Path:
    path = config_dir() / CREDENTIALS
    data = _read(path)
    data["profiles"][name] = {k: v for k, v in asdict(profile).items() if v not in (None, {})}
    return _write(data)


def forget(name: str) -> None:
    data = _read(config_dir() / CREDENTIALS)
    if data["profiles"].pop(name, None) is not None:
        _write(data)


def _write(data: dict[str, Any]) -> Path:
    """Atomically, 0600 in a 0700 directory: the file holds refresh tokens and API keys."""
    directory = config_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(directory, 0o700)
    path = directory / CREDENTIALS
    temp = path.with_suffix(".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=2)
    os.chmod(temp, 0o600)
    os.replace(temp, path)
    return path
