"""The nightly regression workflow: what it runs, what it uploads, and how it fails without a key."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from onboard_llm.cli import cli

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "nightly-evals.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _steps(workflow: dict[Any, Any]) -> dict[str, dict[str, Any]]:
    (job,) = workflow["jobs"].values()
    return {step.get("name", step.get("uses", "")): step for step in job["steps"]}


def test_runs_on_a_schedule_and_by_hand(workflow: dict[Any, Any]) -> None:
    # YAML reads the bare key `on` as True.
    triggers = workflow.get("on", workflow.get(True))
    assert triggers["schedule"][0]["cron"]
    assert {"baseline", "candidate", "provider"} <= set(triggers["workflow_dispatch"]["inputs"])


def test_keys_come_from_secrets_and_the_regress_command_writes_every_report(workflow: dict[Any, Any]) -> None:
    (job,) = workflow["jobs"].values()
    assert job["env"]["OPENAI_API_KEY"] == "${{ secrets.OPENAI_API_KEY }}"
    assert job["env"]["ANTHROPIC_API_KEY"] == "${{ secrets.ANTHROPIC_API_KEY }}"
    steps = _steps(workflow)
    regress = steps["Regress"]["run"]
    assert "onboard eval regress evals/suites/roadmap.yaml" in regress
    for option in ("--baseline", "--candidate", "--provider", "--max-cost", "--md", "--html", "--junit", "--json"):
        assert option in regress
    assert 'cat reports/summary.md >> "$GITHUB_STEP_SUMMARY"' in steps["Job summary"]["run"]
    upload = steps["Upload the reports"]
    assert upload["uses"].startswith("actions/upload-artifact@") and upload["with"]["path"] == "reports/"
    assert upload["if"] == "always()"
    # The job fails with regress's own exit code, after the reports are out.
    names = list(steps)
    assert names.index("Fail on a regression") > names.index("Upload the reports")
    assert "steps.regress.outputs.exit_code" in steps["Fail on a regression"]["run"]
    # The key check comes before anything costs money.
    assert names.index("Check the API key") < names.index("Regress")


def _check_step(workflow: dict[Any, Any]) -> str:
    return str(_steps(workflow)["Check the API key"]["run"])


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_key_check_fails_at_once_with_exit_2_naming_the_secret(workflow: dict[Any, Any], tmp_path: Path) -> None:
    # Run the step's own script with `onboard` on PATH and no key, as a fork without secrets would.
    shim = tmp_path / "onboard"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{ROOT / "cli.py"}" "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.startswith("ONBOARD_")}
    env["PATH"] = f"{tmp_path}{os.pathsep}{env.get('PATH', '')}"
    env["PROVIDER"] = "openai:gpt-4.1-mini"
    out = subprocess.run(["bash", "-c", _check_step(workflow)], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "OPENAI_API_KEY is not set" in out.stderr
    assert "::error::" in out.stdout and "secret" in out.stdout
    # With the secret present the step passes without calling anyone.
    env["OPENAI_API_KEY"] = "placeholder-not-a-key"
    ok = subprocess.run(["bash", "-c", _check_step(workflow)], env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "OPENAI_API_KEY is set" in ok.stdout


def test_providers_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    runner = CliRunner()
    offline = runner.invoke(cli, ["providers", "check", "offline", "openai-compatible:llama3"])
    assert offline.exit_code == 0 and "no key needed" in offline.output
    both = runner.invoke(cli, ["providers", "check", "openai", "anthropic:claude-sonnet-4-6"])
    assert both.exit_code == 2
    assert "ANTHROPIC_API_KEY, OPENAI_API_KEY are not set" in both.output
    assert "Traceback" not in both.output
    unknown = runner.invoke(cli, ["providers", "check", "nosuch"])
    assert unknown.exit_code == 2 and "unknown provider 'nosuch'" in unknown.output
