"""Shared fixtures: run the CLI away from the user's config, environment and network."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from onboard_llm.config import find_config


@pytest.fixture(autouse=True, scope="session")
def _private_user_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test may write the user's real generation log or response cache."""
    base = tmp_path_factory.mktemp("user-dirs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_DATA_HOME", str(base / "data"))
        mp.setenv("XDG_CACHE_HOME", str(base / "cache"))
        yield


def _isolate(mp: pytest.MonkeyPatch, folder: Path) -> None:
    # ONBOARD_* settings and provider keys would change what the CLI does (or reach the network).
    for name in list(os.environ):
        if name.startswith("ONBOARD_") or name.endswith("_API_KEY"):
            mp.delenv(name)
    mp.chdir(folder)
    mp.setenv("XDG_DATA_HOME", str(folder / ".data"))
    mp.setenv("XDG_CACHE_HOME", str(folder / ".cache"))
    found = find_config()
    assert found is None, f"a config file above the test folder would leak into the tests: {found[0]}"


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working folder with no onboard config above it and no ONBOARD_* environment."""
    _isolate(monkeypatch, tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def isolated_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The same isolation, shared by a module's expensive fixtures."""
    folder = tmp_path_factory.mktemp("isolated")
    with pytest.MonkeyPatch.context() as mp:
        _isolate(mp, folder)
        yield folder
