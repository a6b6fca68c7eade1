"""User defaults from ``onboard.toml`` or ``[tool.onboard]`` in ``pyproject.toml``.

Precedence, highest first: command-line flags, environment variables, this
file, built-in defaults. The CLI feeds these values to click as its default
map, so click applies that order itself.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from onboard_llm.errors import ConfigError

#: Keys a config file may set, and the CLI option each one fills.
KNOWN_KEYS = {
    "provider": "provider",
    "model": "model",
    "prompt": "prompt",
    "holidays": "holidays",
    "timezone": "tz",
    "db": "db",
    "prompts_dir": "prompts_dir",
    "max_reasks": "max_reasks",
}


def find_config(start: Path | None = None) -> tuple[Path, dict[str, Any]] | None:
    """The nearest onboard.toml, or pyproject.toml with a [tool.onboard] table, from ``start`` upwards."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        own = folder / "onboard.toml"
        if own.is_file():
            return own, _read(own)
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            table = _read(pyproject).get("tool", {}).get("onboard")
            if isinstance(table, dict):
                return pyproject, table
    return None


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def load_defaults(start: Path | None = None) -> dict[str, Any]:
    """Option defaults from the nearest config file, keyed by CLI option name."""
    found = find_config(start)
    if found is None:
        return {}
    path, table = found
    unknown = sorted(set(table) - set(KNOWN_KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(unknown)} (known: {', '.join(KNOWN_KEYS)})")
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key == "prompts_dir":
            value = [str((path.parent / Path(v)).resolve()) for v in ([value] if isinstance(value, str) else value)]
        elif key == "db":
            value = str((path.parent / Path(value)).resolve())
        out[KNOWN_KEYS[key]] = value
    return out
