"""The wheel ships the prompts and schemas, and an installed wheel uses them, not the checkout's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

from onboard_llm.schema_export import SCHEMA_FILES

REPO = Path(__file__).resolve().parent.parent
PIP_ENV = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # hatchling is in the test environment, so no build isolation and no index.
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(out), "."],
        cwd=REPO,
        env=PIP_ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"building the wheel failed:\n{result.stdout}\n{result.stderr}"
    (built,) = out.glob("onboard_llm-*.whl")
    return built


def test_wheel_contains_prompts_and_schemas(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "onboard_llm/_data/prompts/roadmap/v1/prompt.yaml",
        "onboard_llm/_data/prompts/roadmap/v1/system.j2",
        "onboard_llm/_data/prompts/roadmap/v1/user.j2",
        "onboard_llm/_data/prompts/roadmap/released.lock",
        *(f"onboard_llm/_data/schemas/{name}" for name in SCHEMA_FILES),
        "onboard_llm/prompts.py",
        "onboard_llm/resources.py",
        "onboard_llm/data/prices.json",
    }
    assert expected <= names, f"missing from the wheel: {sorted(expected - names)}"
    assert not any(name.startswith(("prompts/", "schemas/", "tests/")) for name in names), "data outside the package"


def test_wheel_data_is_byte_identical_to_the_checkout(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.startswith("onboard_llm/_data/"):
                source = REPO / name.removeprefix("onboard_llm/_data/")
                assert archive.read(name) == source.read_bytes(), f"{name} differs from {source}"


_PROBE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path

    import onboard_llm
    from onboard_llm.prompts import PromptRegistry
    from onboard_llm.resources import data_dir
    from onboard_llm.schema_export import SCHEMA_FILES, schema_file_text

    reg = PromptRegistry()
    version = reg.get("roadmap@v1")
    rendered = reg.render(
        version,
        {"notes": "Acme wants SSO.", "context_text": "company: Acme", "start_date_assumed": True, "plan_days": 90},
    )
    schemas = data_dir("schemas")
    print(json.dumps({
        "package": onboard_llm.__file__,
        "prompts": str(data_dir("prompts")),
        "names": reg.names(),
        "latest": reg.get("roadmap").ref,
        "version_path": str(version.path),
        "source": version.source,
        "sha256": version.sha256,
        "lock_problems": reg.check_locks(),
        "user": rendered.messages[1].content,
        "schemas_current": all(
            (schemas / name).read_text(encoding="utf-8") == schema_file_text(model)
            for name, model in SCHEMA_FILES.items()
        ),
    }))
    """
)


def test_installed_wheel_lists_and_renders_roadmap_from_inside_the_wheel(wheel: Path, tmp_path: Path) -> None:
    # A fresh venv without pip; the running pip installs into it. Its
    # dependencies come from this test environment's site-packages through a
    # plain .pth path line: that adds the folder without running the folder's
    # own .pth files, so the editable install of the checkout stays out.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
        env=PIP_ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, f"installing the wheel failed:\n{install.stdout}\n{install.stderr}"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (site / "_parent_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")

    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ONBOARD_PROMPTS_DIR", "PYTHONHOME")}
    # -I: no PYTHONPATH, no user site, no script folder on sys.path.
    probe = subprocess.run(
        [str(python), "-I", "-c", _PROBE], cwd=workdir, env=env, capture_output=True, text=True, check=False
    )
    assert probe.returncode == 0, f"the installed wheel failed:\n{probe.stderr}"
    found = json.loads(probe.stdout)

    assert Path(found["package"]).is_relative_to(site), f"imported {found['package']}, not the installed wheel"
    assert Path(found["prompts"]) == site / "onboard_llm" / "_data" / "prompts"
    assert Path(found["version_path"]).is_relative_to(site)
    assert not Path(found["version_path"]).is_relative_to(REPO)
    assert found["source"] == "builtin"
    assert "roadmap" in found["names"]
    assert found["latest"].startswith("roadmap@v")
    assert found["lock_problems"] == []
    assert found["schemas_current"] is True
    assert "<handoff_notes>\nAcme wants SSO.\n</handoff_notes>" in found["user"]
    assert "company: Acme" in found["user"]

    from onboard_llm.prompts import PromptRegistry

    assert found["sha256"] == PromptRegistry().get("roadmap@v1").sha256, "the wheel changed the release's hash"
