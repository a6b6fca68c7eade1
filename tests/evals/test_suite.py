"""Loading eval suites: the shipped suite, the suite hash, case selection, and one error listing every problem."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from onboard_llm.errors import BadInputError
from onboard_llm.evals.golden import GoldenPlan
from onboard_llm.evals.suite import CASE_FILES, load_suite

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "evals" / "suites" / "roadmap.yaml"
CASES = REPO / "evals" / "cases"
SHIPPED_IDS = [
    "alder-vine-clinics-intake",
    "brannock-castings-maintenance",
    "brightkiln-support-migration",
    "cindervale-logistics-dock-scheduling",
    "corvane-bank-kyc-reviews",
    "gannet-inn-scheduling",
    "tamsett-county-permitting",
    "wexmoor-college-advising",
]
GOOD_SUITE = """\
name: tiny
cases: [cases/*]
scorers:
  - name: schema
  - name: fields
    weight: 3
thresholds: {case: 0.6, pass_rate: 0.75}
"""


def make_suite(folder: Path, cases: tuple[str, ...] = ("gannet-inn-scheduling",), text: str = GOOD_SUITE) -> Path:
    """A suite in ``folder`` whose cases are copies of shipped ones."""
    for case in cases:
        shutil.copytree(CASES / case, folder / "cases" / case)
    suite = folder / "suite.yaml"
    suite.write_text(text, encoding="utf-8")
    return suite


def load_error(path: Path) -> str:
    with pytest.raises(BadInputError) as info:
        load_suite(path)
    message = str(info.value)
    assert "\n" not in message, "a load error is one line"
    return message


# -- the shipped suite -----------------------------------------------------------------------------


def test_the_shipped_suite_loads() -> None:
    suite = load_suite(SHIPPED)
    assert suite.name == "roadmap"
    assert [c.id for c in suite.cases] == SHIPPED_IDS
    assert [s.name for s in suite.spec.scorers] == ["schema", "structure", "fields", "grounding", "facts"]
    assert suite.spec.providers == ["offline"]
    for case in suite.cases:
        assert case.handoff.context.start_date is not None, case.id
        assert not case.handoff.start_date_assumed, case.id
        assert case.golden.success_metrics and case.golden.stakeholders and case.golden.phases, case.id
        assert case.golden.customer.company, case.id
        assert case.expect.must_mention, case.id
        assert case.threshold == suite.spec.thresholds.case
        assert case.path.resolve().parent == CASES
        # Kept as compact JSON, the golden plan reads back as the file's.
        assert case.golden == GoldenPlan.model_validate(json.loads((case.path / "golden.json").read_text("utf-8")))
    assert re.fullmatch(r"[0-9a-f]{64}", suite.sha256)
    assert load_suite(SHIPPED).sha256 == suite.sha256


def test_the_suite_path_is_stored_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_suite(tmp_path)
    monkeypatch.chdir(tmp_path)
    suite = load_suite("suite.yaml")
    assert suite.path == tmp_path.resolve() / "suite.yaml"
    assert [c.id for c in suite.cases] == ["gannet-inn-scheduling"]


# -- the suite hash --------------------------------------------------------------------------------


def test_suite_hash_changes_with_any_case_file_and_nothing_else(tmp_path: Path) -> None:
    path = make_suite(tmp_path, ("gannet-inn-scheduling", "corvane-bank-kyc-reviews"))
    original = load_suite(path).sha256
    case = tmp_path / "cases" / "corvane-bank-kyc-reviews"

    # Rewriting the same bytes, or adding a file that is not a case file, changes nothing.
    for name in CASE_FILES:
        (case / name).write_bytes((case / name).read_bytes())
    (case / "README.md").write_text("why this case exists\n", encoding="utf-8")
    (tmp_path / "cases" / "notes-for-reviewers.txt").write_text("hello\n", encoding="utf-8")
    assert load_suite(path).sha256 == original

    edits: dict[str, Callable[[str], str]] = {
        "notes.md": lambda t: t + "\nOne more line.\n",
        "context.yaml": lambda t: t.replace("start_date:", "start_date: 2027-03-01\n#", 1),
        "golden.json": lambda t: json.dumps(json.loads(t) | {"primary_goal": "Something else"}),
        "expect.yaml": lambda t: t + "  - Zebulon\n",
        "../../suite.yaml": lambda t: t.replace("pass_rate: 0.75", "pass_rate: 0.5"),
    }
    seen = {original}
    for name, edit in edits.items():
        file = case / name
        before = file.read_text(encoding="utf-8")
        file.write_text(edit(before), encoding="utf-8")
        changed = load_suite(path).sha256
        assert changed not in seen, f"editing {name} must change the hash"
        seen.add(changed)
        file.write_text(before, encoding="utf-8")
        assert load_suite(path).sha256 == original, f"restoring {name} must restore the hash"

    # A case file appearing (expect.yaml is optional) changes it too.
    expect = (case / "expect.yaml").read_bytes()
    (case / "expect.yaml").unlink()
    assert load_suite(path).sha256 not in seen
    (case / "expect.yaml").write_bytes(expect)
    assert load_suite(path).sha256 == original


def test_suite_hash_ignores_line_endings_of_case_files(tmp_path: Path) -> None:
    path = make_suite(tmp_path)
    original = load_suite(path).sha256
    notes = tmp_path / "cases" / "gannet-inn-scheduling" / "notes.md"
    notes.write_bytes(notes.read_bytes().replace(b"\n", b"\r\n"))
    assert load_suite(path).sha256 == original


# -- selecting cases -------------------------------------------------------------------------------


def test_select_by_glob() -> None:
    suite = load_suite(SHIPPED)
    assert [c.id for c in suite.select("gannet*")] == ["gannet-inn-scheduling"]
    assert [c.id for c in suite.select("b*")] == ["brannock-castings-maintenance", "brightkiln-support-migration"]
    assert [c.id for c in suite.select("*-s*")] == [
        "brightkiln-support-migration",
        "cindervale-logistics-dock-scheduling",
        "gannet-inn-scheduling",
    ]
    assert [c.id for c in suite.select(None)] == SHIPPED_IDS
    with pytest.raises(BadInputError, match=r"no case of suite roadmap matches 'zzz\*'.*gannet-inn-scheduling"):
        suite.select("zzz*")


def test_case_thresholds_apply_to_their_case(tmp_path: Path) -> None:
    text = GOOD_SUITE + "case_thresholds: {gannet-inn-scheduling: 0.9}\n"
    path = make_suite(tmp_path, ("gannet-inn-scheduling", "corvane-bank-kyc-reviews"), text)
    thresholds = {c.id: c.threshold for c in load_suite(path).cases}
    assert thresholds == {"gannet-inn-scheduling": 0.9, "corvane-bank-kyc-reviews": 0.6}


# -- load errors -----------------------------------------------------------------------------------

ALL_CASES = (
    "alder-vine-clinics-intake",
    "brannock-castings-maintenance",
    "brightkiln-support-migration",
    "cindervale-logistics-dock-scheduling",
    "corvane-bank-kyc-reviews",
    "gannet-inn-scheduling",
    "tamsett-county-permitting",
)


def _break_cases(cases: Path) -> dict[str, tuple[str, str]]:
    """Break six cases in six ways; per problem, the case and the problem it must report, as a regex."""
    alder, brannock, brightkiln, cindervale, corvane, gannet, _ = (cases / c for c in ALL_CASES)
    (alder / "golden.json").unlink()
    (brannock / "golden.json").write_text('{"customer": {"company": "Brannock"},,}', encoding="utf-8")
    golden = json.loads((brightkiln / "golden.json").read_text(encoding="utf-8"))
    golden["stakeholders"][1]["role"] = "boss"
    (brightkiln / "golden.json").write_text(json.dumps(golden), encoding="utf-8")
    context = cindervale / "context.yaml"
    context.write_text(context.read_text(encoding="utf-8") + "favourite_colour: teal\n", encoding="utf-8")
    context = corvane / "context.yaml"
    kept = [ln for ln in context.read_text(encoding="utf-8").splitlines() if not ln.startswith("start_date")]
    context.write_text("\n".join(kept) + "\n", encoding="utf-8")
    expect = gannet / "expect.yaml"
    expect.write_text(expect.read_text(encoding="utf-8") + "must_mentoin: [Square]\n", encoding="utf-8")
    e = re.escape
    return {
        "missing golden": (alder.name, e(f"{alder / 'golden.json'}: missing")),
        "invalid json": (brannock.name, e(f"{brannock / 'golden.json'}: not valid JSON (") + r"[^;]*line 1\)"),
        "schema error": (
            brightkiln.name,
            e(f"{brightkiln / 'golden.json'}: stakeholders.1.role: ") + r"[^;]*'executive_sponsor'",
        ),
        "context unknown field": (
            cindervale.name,
            e(f"{cindervale / 'context.yaml'}: favourite_colour: unknown field"),
        ),
        "context without start_date": (
            corvane.name,
            e(f"{corvane / 'context.yaml'}: start_date: required in an eval case"),
        ),
        "expect unknown key": (gannet.name, e(f"{gannet / 'expect.yaml'}: must_mentoin: unknown field")),
    }


def _suite_problems(path: Path) -> dict[str, str]:
    e = re.escape
    return {
        "unknown scorer": e(f"{path}: scorers[1].name: unknown scorer 'vibes' (available: ") + r"[^;]*schema",
        "bad threshold": e(f"{path}: thresholds.case: ") + r"[^;]*less than or equal to 1",
        "unknown top-level key": e(f"{path}: treshold: unknown field"),
        "glob matching nothing": e(f"{path}: cases[1]: 'elsewhere/*' matches no case folder"),
        "case_thresholds naming a missing case": e(f"{path}: case_thresholds.no-such-case: no such case"),
    }


BROKEN_SUITE = """\
name: broken
cases: [cases/*, elsewhere/*]
scorers: [{name: schema}, {name: vibes}]
thresholds: {case: 1.5}
treshold: 0.7
case_thresholds: {no-such-case: 0.5, tamsett-county-permitting: 0.7}
"""


def test_one_error_reports_every_problem_with_its_file_and_field(tmp_path: Path) -> None:
    path = make_suite(tmp_path, ALL_CASES, BROKEN_SUITE)
    expected = _suite_problems(path) | {k: v for k, (_, v) in _break_cases(tmp_path / "cases").items()}
    message = load_error(path)
    assert message.startswith(f"suite {path} has {len(expected)} problems: ")
    for what, pattern in expected.items():
        assert re.search(pattern, message), f"{what} is not reported in: {message}"
    # The one intact case is not blamed for anything.
    assert "tamsett-county-permitting" not in message


@pytest.mark.parametrize(
    "problem",
    [
        "unknown scorer",
        "bad threshold",
        "unknown top-level key",
        "glob matching nothing",
        "case_thresholds naming a missing case",
    ],
)
def test_each_suite_problem_alone(tmp_path: Path, problem: str) -> None:
    lines = {
        "unknown scorer": "scorers: [{name: schema}, {name: vibes}]\n",
        "bad threshold": "thresholds: {case: 1.5}\n",
        "unknown top-level key": "treshold: 0.7\n",
        "glob matching nothing": "cases: [cases/*, elsewhere/*]\n",
        "case_thresholds naming a missing case": "case_thresholds: {no-such-case: 0.5}\n",
    }
    text = "name: one\ncases: [cases/*]\nscorers: [{name: schema}]\n"
    key = lines[problem].split(":")[0]
    text = "".join(ln + "\n" for ln in text.splitlines() if not ln.startswith(key + ":")) + lines[problem]
    path = make_suite(tmp_path, text=text)
    message = load_error(path)
    assert message.startswith(f"suite {path} has 1 problem: ")
    assert re.search(_suite_problems(path)[problem], message), message


@pytest.mark.parametrize(
    "problem",
    [
        "missing golden",
        "invalid json",
        "schema error",
        "context unknown field",
        "context without start_date",
        "expect unknown key",
    ],
)
def test_each_case_problem_alone(tmp_path: Path, problem: str) -> None:
    path = make_suite(tmp_path, ALL_CASES)
    broken, pattern = _break_cases(tmp_path / "cases")[problem]
    # Keep only the broken case under test: restore the others.
    for case in ALL_CASES:
        if case != broken:
            shutil.rmtree(tmp_path / "cases" / case)
            shutil.copytree(CASES / case, tmp_path / "cases" / case)
    message = load_error(path)
    assert message.startswith(f"suite {path} has 1 problem: "), message
    assert re.search(pattern, message), message


def test_a_context_that_is_not_yaml_is_one_problem(tmp_path: Path) -> None:
    path = make_suite(tmp_path)
    context = tmp_path / "cases" / "gannet-inn-scheduling" / "context.yaml"
    context.write_text("company: [unclosed\n", encoding="utf-8")
    message = load_error(path)
    assert message.startswith(f"suite {path} has 1 problem: {context}: not valid YAML at line "), message


def test_an_impossible_date_in_a_context_is_one_problem(tmp_path: Path) -> None:
    path = make_suite(tmp_path)
    context = tmp_path / "cases" / "gannet-inn-scheduling" / "context.yaml"
    text = context.read_text(encoding="utf-8")
    context.write_text(re.sub(r"start_date: \S+", "start_date: 2027-02-30", text), encoding="utf-8")
    message = load_error(path)
    assert message.startswith(f"suite {path} has 1 problem: {context}: not valid YAML at line "), message


def test_two_case_folders_with_one_name(tmp_path: Path) -> None:
    shutil.copytree(CASES / "gannet-inn-scheduling", tmp_path / "more" / "gannet-inn-scheduling")
    path = make_suite(tmp_path, text=GOOD_SUITE.replace("[cases/*]", "[cases/*, more/*]"))
    message = load_error(path)
    assert "two case folders are named gannet-inn-scheduling" in message


def test_a_suite_file_that_is_not_yaml(tmp_path: Path) -> None:
    path = make_suite(tmp_path, text="name: x\ncases: [cases/*\nscorers: {{\n")
    message = load_error(path)
    assert message.startswith(f"{path}: not valid YAML at line "), message


@pytest.mark.parametrize("text", ["", "- just\n- a list\n", "a plain string\n"])
def test_a_suite_file_that_is_not_a_mapping(tmp_path: Path, text: str) -> None:
    path = make_suite(tmp_path, text=text)
    message = load_error(path)
    assert message.startswith(f"suite {path} has 1 problem: {path}: (top level): "), message


def test_a_missing_suite_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    assert load_error(missing) == f"suite file {missing} does not exist"
    assert load_error(tmp_path) == f"suite file {tmp_path} does not exist"
