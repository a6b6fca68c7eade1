"""Where the shipped prompts and schemas live: inside the wheel, or in a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The folder of shipped data named ``name`` ("prompts" or "schemas").

    A wheel carries it as ``onboard_llm/_data/NAME``; a checkout or an
    editable install keeps it at the repository's top level.
    """
    bundled = _PACKAGE / "_data" / name
    if bundled.is_dir():
        return bundled
    return _PACKAGE.parent / name
