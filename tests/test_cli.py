"""The ``onboard`` command line, run for real: in-process with CliRunner, and a few true subprocesses.

Every test runs in an empty temporary folder with no ONBOARD_* environment (the
``isolated`` fixture), so the user's own config never leaks in; dates are fixed
with --start-date wherever a plan would otherwise start "next business day".
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from jsonschema import Draft202012Validator

from onboard_llm.calendar import BusinessCalendar
from onboard_llm.cli import cli
from onboard_llm.inputs import MAX_NOTES_BYTES, build_handoff

pytestmark = pytest.mark.usefixtures("isolated")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted([*ROOT.glob("examples/*.md"), *ROOT.glob("examples/*.txt")])
NOTES = ROOT / "examples" / "terse-bullets.md"  # carries its own start date in front matter
START = "2027-02-01"  # a Monday, for notes that do not say when they start
OFFLINE_NOTICE = "using the offline planner"


def run(*args: str | Path, input: bytes | str | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], input=input, env=env, prog_name="onboard")


def ok(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}\nstderr: {result.stderr}\n{result.exception!r}"
    return result


def one_error_line(result: Result, code: int = 2) -> str:
    """The exit code is `code` and stderr is exactly one 'error:' line, with no traceback anywhere."""
    assert "Traceback" not in result.output
    # Anything but a clean exit means an exception escaped the CLI.
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == code, f"exit {result.exit_code}; stderr: {result.stderr!r}"
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error:") and lines[0][len("error:") :].strip(), lines[0]
    return lines[0]


def context_file_for(example: Path) -> Path | None:
    context = example.with_suffix(".context.yaml")
    return context if context.exists() else None


# --- 1. Bad input: exit 2, one line ----------------------------------------------------------------------------

Case = Callable[[Path], tuple[list[str], bytes | None]]


def _file(name: str, data: bytes | str, *args: str) -> Case:
    def make(tmp: Path) -> tuple[list[str], bytes | None]:
        path = tmp / name
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
        return ["plan", str(path), *args], None

    return make


def _context(name: str, text: str) -> Case:
    def make(tmp: Path) -> tuple[list[str], bytes | None]:
        (tmp / name).write_text(text, encoding="utf-8")
        return ["plan", str(NOTES), "--context", str(tmp / name)], None

    return make


def _folder(tmp: Path) -> tuple[list[str], bytes | None]:
    (tmp / "notes").mkdir()
    return ["plan", str(tmp / "notes")], None


def _args(*args: str, stdin: bytes | None = None) -> Case:
    return lambda tmp: ([*args], stdin)


BAD_INPUT: dict[str, Case] = {
    "missing-notes": _args("plan", "no-such-notes.md"),
    "folder": _folder,
    "empty-file": _file("empty.md", b""),
    "whitespace-only": _file("blank.md", " \n\t\n  \n"),
    "binary": _file("image.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00"),
    "not-utf8": _file("latin1.md", b"caf\xe9 notes"),
    "too-big": _file("huge.md", "a" * (MAX_NOTES_BYTES + 1)),
    "impossible-date": _args("plan", str(NOTES), "--start-date", "2027-13-45"),
    "word-date": _args("plan", str(NOTES), "--start-date", "tomorrow"),
    "unknown-prompt-version": _args("plan", str(NOTES), "--prompt", "roadmap@v99"),
    "unknown-prompt": _args("plan", str(NOTES), "--prompt", "nosuchprompt"),
    "unknown-provider": _args("plan", str(NOTES), "--provider", "nosuch"),
    "context-bad-yaml": _context("context.yaml", "company: [Acme\nindustry: retail\n"),
    "context-unknown-field": _context("context.yaml", "company: Acme\nbudget: 5000\n"),
    "context-bad-json": _context("context.json", '{"company": "Acme",'),
    "context-missing": _args("plan", str(NOTES), "--context", "no-such-context.yaml"),
    "front-matter-bad-yaml": _file("fm.md", "---\ncompany: [Acme\n---\nAcme bought the Pro tier.\n"),
    "unknown-holidays": _args("plan", str(NOTES), "--holidays", "XX"),
    "unknown-format": _args("plan", str(NOTES), "--format", "pdf"),
    "stdin-empty": _args("plan", "-", stdin=b""),
    "stdin-binary": _args("plan", "-", stdin=b"PK\x03\x04\x00\x00binary\x00zip"),
    # click's own usage errors are one line too
    "missing-argument": _args("plan"),
    "out-of-range": _args("plan", str(NOTES), "--max-reasks", "99"),
    "unknown-option": _args("plan", str(NOTES), "--no-such-flag"),
    "unknown-command": _args("nosuchcommand"),
}


@pytest.mark.parametrize("case", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_exits_2_with_one_line(case: Case, isolated: Path) -> None:
    args, stdin = case(isolated)
    result = run(*args, input=stdin)
    one_error_line(result)
    assert result.stdout == ""


def test_bad_input_messages_name_the_problem(isolated: Path) -> None:
    assert "2027-13-45" in one_error_line(run("plan", NOTES, "--start-date", "2027-13-45"))
    assert "v99" in one_error_line(run("plan", NOTES, "--prompt", "roadmap@v99"))
    (isolated / "context.yaml").write_text("company: Acme\nbudget: 5000\n")
    assert "budget" in one_error_line(run("plan", NOTES, "--context", "context.yaml"))
    assert "pdf" in one_error_line(run("plan", NOTES, "--format", "pdf"))
    assert "--max-reasks" in one_error_line(run("plan", NOTES, "--max-reasks", "99"))


def onboard_script() -> str:
    script = shutil.which("onboard", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the onboard console script is not installed beside this Python")
    return script


def subprocess_run(cmd: list[str], cwd: Path, stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
    """Run a real process (stdin as bytes, output decoded as UTF-8)."""
    proc = subprocess.run(cmd, cwd=cwd, input=stdin, capture_output=True, timeout=60, check=False)
    out, err = proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.parametrize(
    "args, stdin",
    [
        (["plan", "no-such-notes.md"], b""),
        (["plan", "-"], b"\x00\x01\x02binary"),
        (["plan", str(NOTES), "--start-date", "2027-13-45"], b""),
        (["plan", str(NOTES), "--context", "bad.yaml"], b""),
        (["plan", str(NOTES), "--bogus"], b""),
    ],
    ids=["missing", "binary-stdin", "bad-date", "bad-context", "bad-option"],
)
def test_console_script_shows_no_traceback(args: list[str], stdin: bytes, isolated: Path) -> None:
    (isolated / "bad.yaml").write_text("company: [Acme\n")
    proc = subprocess_run([onboard_script(), *args], isolated, stdin)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), lines
    assert proc.stdout == ""


def test_console_script_reports_bad_config_in_one_line(isolated: Path) -> None:
    (isolated / "onboard.toml").write_text('colour = "blue"\n')
    proc = subprocess_run([onboard_script(), "plan", str(NOTES)], isolated)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "colour" in lines[0], lines


# --- 2. Acceptance: every example -------------------------------------------------------------------------------


def _states_own_start(example: Path) -> bool:
    """True when the example gives its start date in a way that does not depend on today's date."""
    text = example.read_text(encoding="utf-8")
    context = context_file_for(example)
    early = build_handoff(text, context_file=context, today=dt.date(2026, 11, 23))
    if early.start_date_assumed:
        return False
    late = build_handoff(text, context_file=context, today=dt.date(2031, 6, 2))
    return early.start_date == late.start_date  # a year inferred from "today" would move


@pytest.fixture(scope="module")
def example_plans(isolated_module: Path) -> dict[str, tuple[dict[str, Any], str, dt.date | None]]:
    """Each example's JSON plan, the text it may draw on (notes + context file), and the date passed."""
    plans = {}
    for example in EXAMPLES:
        context = context_file_for(example)
        args: list[str | Path] = ["plan", example, "--format", "json"]
        source = example.read_text(encoding="utf-8")
        if context is not None:
            args += ["--context", context]
            source += "\n" + context.read_text(encoding="utf-8")
        start = None if _states_own_start(example) else dt.date.fromisoformat(START)
        if start is not None:
            args += ["--start-date", start.isoformat()]
        result = ok(run(*args))
        plans[example.name] = (json.loads(result.stdout), source, start)
    return plans


def test_examples_are_there() -> None:
    names = {p.name for p in EXAMPLES}
    assert len(names) >= 4 and "forwarded-email.md" in names
    assert context_file_for(ROOT / "examples" / "forwarded-email.md") is not None


def _squash(text: str) -> str:
    return " ".join(text.split()).casefold()


def _day(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_plan_is_valid_and_grounded(example: Path, example_plans: dict[str, Any]) -> None:
    plan, source, passed_start = example_plans[example.name]
    schema = json.loads((ROOT / "schemas" / "onboarding_plan.schema.json").read_text(encoding="utf-8"))
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in Draft202012Validator(schema).iter_errors(plan)
    ]
    assert errors == []

    company = plan["customer"]["company"]
    assert company and company.strip()
    assert _squash(company) in _squash(source)

    start = _day(plan["customer"]["start_date"])
    if passed_start is not None:
        assert start == passed_start
    else:
        expected = build_handoff(
            example.read_text(encoding="utf-8"), context_file=context_file_for(example), today=dt.date(2026, 11, 23)
        ).start_date
        assert start == expected

    phases = sorted(plan["phases"], key=lambda p: p["start_day"])
    assert phases[0]["start_day"] == 1 and phases[-1]["end_day"] == 90
    for before, after in itertools.pairwise(phases):
        assert after["start_day"] == before["end_day"] + 1, (before["id"], after["id"])

    calendar = BusinessCalendar()
    milestones = [m for phase in plan["phases"] for m in phase["milestones"]]
    assert milestones
    for milestone in milestones:
        assert calendar.is_business_day(_day(milestone["date"])), milestone

    kickoffs = [m for m in plan["meetings"] if m["kind"] == "kickoff"]
    assert len(kickoffs) == 1
    kickoff = _day(kickoffs[0]["date"])
    assert kickoff >= start and calendar.business_days_between(start, kickoff) <= 3

    assert plan["stakeholders"]
    for person in plan["stakeholders"]:
        assert _squash(person["name"]) in _squash(source), person["name"]


def test_different_examples_give_different_plans(example_plans: dict[str, Any]) -> None:
    def facts(plan: dict[str, Any]) -> tuple[set[str], set[str], set[str]]:
        return (
            {g["goal"] for g in plan["stated_goals"]},
            {m["name"] for m in plan["success_metrics"]},
            {s["name"] for s in plan["stakeholders"]},
        )

    for (name_a, (plan_a, _, _)), (name_b, (plan_b, _, _)) in itertools.combinations(example_plans.items(), 2):
        goals_a, metrics_a, people_a = facts(plan_a)
        goals_b, metrics_b, people_b = facts(plan_b)
        assert goals_a != goals_b, (name_a, name_b)
        assert metrics_a != metrics_b, (name_a, name_b)
        assert people_a != people_b, (name_a, name_b)


# --- 3. Other behaviour -----------------------------------------------------------------------------------------


def test_default_output_is_markdown_naming_the_company() -> None:
    result = ok(run("plan", NOTES))
    assert result.stdout.startswith("#")
    assert "Halvorsen Outdoor Goods" in result.stdout
    assert not result.stdout.lstrip().startswith("{")


def test_output_file_is_written_and_stdout_stays_empty(isolated: Path) -> None:
    target = isolated / "out" / "plan.md"
    target.parent.mkdir()
    result = ok(run("plan", NOTES, "-o", target))
    assert result.stdout == ""
    assert "Halvorsen Outdoor Goods" in target.read_text(encoding="utf-8")
    assert str(target) in result.stderr


def test_output_file_in_missing_folder_is_one_line(isolated: Path) -> None:
    one_error_line(run("plan", NOTES, "-o", isolated / "missing" / "plan.md"))


def test_customer_audience_leaves_out_internal_sections() -> None:
    internal = ok(run("plan", NOTES)).stdout
    customer = ok(run("plan", NOTES, "--audience", "customer")).stdout
    assert "## Internal" in internal and "*(internal)*" in internal
    assert "## Internal" not in customer and "*(internal)*" not in customer
    assert "Halvorsen Outdoor Goods" in customer


def test_notes_from_stdin() -> None:
    result = ok(run("plan", "-", "--format", "json", input=NOTES.read_bytes()))
    assert json.loads(result.stdout)["customer"]["company"] == "Halvorsen Outdoor Goods"


def test_offline_notice_only_for_the_implicit_default() -> None:
    implicit = ok(run("plan", NOTES, "--format", "json"))
    assert OFFLINE_NOTICE in implicit.stderr
    assert OFFLINE_NOTICE not in implicit.stdout
    explicit = ok(run("plan", NOTES, "--format", "json", "--provider", "offline"))
    assert OFFLINE_NOTICE not in explicit.stderr
    assert json.loads(explicit.stdout) == json.loads(implicit.stdout)


def test_provider_from_environment() -> None:
    result = ok(run("plan", NOTES, "--format", "json", env={"ONBOARD_PROVIDER": "offline"}))
    assert OFFLINE_NOTICE not in result.stderr
    assert "nosuch" in one_error_line(run("plan", NOTES, env={"ONBOARD_PROVIDER": "nosuch"}))


@pytest.mark.parametrize(
    "shape, file", [([], "onboarding_plan"), (["draft"], "plan_draft"), (["recovery"], "recovery_plan")]
)
def test_schema_command_prints_the_shipped_schema(shape: list[str], file: str) -> None:
    result = ok(run("schema", *shape))
    shipped = json.loads((ROOT / "schemas" / f"{file}.schema.json").read_text(encoding="utf-8"))
    assert json.loads(result.stdout) == shipped


def test_prompts_list_and_show() -> None:
    listed = ok(run("prompts", "list")).stdout
    assert re.search(r"^roadmap@v1\s+released\b", listed, re.MULTILINE), listed
    shown = ok(run("prompts", "show", "roadmap@v1")).stdout
    assert shown.startswith("roadmap@v1")
    assert "changelog:" in shown and "First release" in shown
    assert "--- system.j2 ---" in shown


def test_prompts_render_puts_the_notes_in_the_data_block(isolated: Path) -> None:
    notes = isolated / "notes.md"
    notes.write_text("Acme Anvils bought the Pro tier. Sponsor: Wile Coyote.\n", encoding="utf-8")
    out = ok(run("prompts", "render", "roadmap@v1", notes, "--start-date", START)).stdout
    assert out.startswith("# roadmap@v1 sha256 ")
    assert "=== system ===" in out and "=== user ===" in out
    block = re.search(r"<handoff_notes>(.*?)</handoff_notes>", out, re.DOTALL)
    assert block is not None and "Acme Anvils bought the Pro tier." in block.group(1)
    assert out.index("=== system ===") < out.index("=== user ===") < block.start()


def test_prompts_diff_of_a_version_with_itself() -> None:
    out = ok(run("prompts", "diff", "roadmap@v1", "roadmap@v1")).stdout
    assert "identical" in out


def test_prompts_unknown_version_is_one_line() -> None:
    one_error_line(run("prompts", "show", "roadmap@v99"))
    one_error_line(run("prompts", "render", "roadmap@v1", "no-such-notes.md"))


def test_extra_prompts_folder_adds_a_draft_version(isolated: Path) -> None:
    mine = isolated / "my-prompts"
    v99 = mine / "roadmap" / "v99"  # a version no built-in prompt has
    shutil.copytree(ROOT / "prompts" / "roadmap" / "v1", v99)
    meta = (v99 / "prompt.yaml").read_text(encoding="utf-8")
    meta = meta.replace("version: v1", "version: v99").replace("status: released", "status: draft")
    (v99 / "prompt.yaml").write_text(meta, encoding="utf-8")

    one_error_line(run("plan", NOTES, "--prompt", "roadmap@v99"))
    result = ok(run("plan", NOTES, "--format", "json", "--prompts-dir", mine, "--prompt", "roadmap@v99"))
    assert json.loads(result.stdout)["customer"]["company"] == "Halvorsen Outdoor Goods"
    assert re.search(r"^roadmap@v99\s+draft\b", ok(run("prompts", "list", "--prompts-dir", mine)).stdout, re.MULTILINE)
    rendered = ok(run("prompts", "render", "roadmap@v99", NOTES, "--prompts-dir", mine)).stdout
    assert rendered.startswith("# roadmap@v99 ")


def _holidays(result: Result) -> Any:
    return json.loads(ok(result).stdout)["holidays"]


def test_config_file_sets_defaults_and_flags_win(isolated: Path) -> None:
    config = isolated / "onboard.toml"
    config.write_text('prompt = "roadmap@v1"\nholidays = "US"\n', encoding="utf-8")
    assert _holidays(run("plan", NOTES, "--format", "json")) == "US"
    assert _holidays(run("plan", NOTES, "--format", "json", "--holidays", "GB")) == "GB"
    assert _holidays(run("plan", NOTES, "--format", "json", env={"ONBOARD_HOLIDAYS": "DE"})) == "DE"

    # The prompt setting is read: a version that does not exist fails, and the flag overrides it.
    config.write_text('prompt = "roadmap@v7"\n', encoding="utf-8")
    assert "v7" in one_error_line(run("plan", NOTES))
    ok(run("plan", NOTES, "--prompt", "roadmap@v1"))


def test_config_is_found_from_a_subfolder_and_in_pyproject(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (isolated / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.onboard]\nholidays = "GB"\n')
    sub = isolated / "a" / "b"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert _holidays(run("plan", NOTES, "--format", "json")) == "GB"


def test_unknown_config_key_is_one_line(isolated: Path) -> None:
    (isolated / "onboard.toml").write_text('prompt = "roadmap@v1"\ncolour = "blue"\n', encoding="utf-8")
    line = one_error_line(run("plan", NOTES))
    assert "colour" in line and "onboard.toml" in line


def test_invalid_config_toml_is_one_line(isolated: Path) -> None:
    (isolated / "onboard.toml").write_text('prompt = "roadmap@v1\n', encoding="utf-8")
    assert "onboard.toml" in one_error_line(run("schema"))


def test_help_lists_the_commands() -> None:
    out = ok(run("--help")).stdout
    for command in ("plan", "schema", "prompts"):
        assert re.search(rf"^\s+{command}\s", out, re.MULTILINE), command
    assert "Usage: onboard" in ok(run("plan", "--help")).stdout


# --- 4. Real processes ------------------------------------------------------------------------------------------


def test_top_level_shim_help() -> None:
    proc = subprocess.run(
        [sys.executable, "cli.py", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "plan" in proc.stdout and "prompts" in proc.stdout


def test_shim_makes_a_plan_from_stdin(isolated: Path) -> None:
    notes = (ROOT / "examples" / "call-transcript.md").read_bytes()
    proc = subprocess_run(
        [sys.executable, str(ROOT / "cli.py"), "plan", "-", "--format", "json", "--start-date", START], isolated, notes
    )
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["customer"]["start_date"] == START
    assert plan["customer"]["company"] in notes.decode("utf-8")
    assert "Traceback" not in proc.stderr and "error:" not in proc.stderr
    assert OFFLINE_NOTICE in proc.stderr
