"""Eval suites: a YAML file naming cases, prompts, providers, scorers and thresholds.

A case is a folder with ``notes.md``, ``context.yaml``, ``golden.json`` and
optionally ``expect.yaml``. Loading checks every file and reports every
problem at once, each with its file and field, so a prompt engineer fixes a
suite in one pass.
"""

from __future__ import annotations

import contextlib
import fnmatch
import glob
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from onboard_llm.errors import BadInputError
from onboard_llm.evals.golden import Expectations, GoldenPlan
from onboard_llm.inputs import HandoffInput, OnboardingContext, build_handoff, decode_notes, load_yaml

CASE_FILES = ("notes.md", "context.yaml", "golden.json", "expect.yaml")


class ScorerSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    weight: float = Field(default=1.0, ge=0)
    params: dict[str, Any] = Field(default_factory=dict)


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: A case passes when its weighted total reaches this.
    case: float = Field(default=0.6, ge=0, le=1)
    #: The suite passes when this share of cases pass...
    pass_rate: float = Field(default=0.75, ge=0, le=1)
    #: ...and, when set, the mean total reaches this.
    mean: float | None = Field(default=None, ge=0, le=1)


class SuiteFile(BaseModel):
    """The YAML file, as written."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    description: str = ""
    cases: list[str] = Field(min_length=1, description="Case folders or globs, relative to the suite file.")
    prompts: list[str] = Field(default_factory=lambda: ["roadmap@latest"], min_length=1)
    providers: list[str] = Field(default_factory=lambda: ["offline"], min_length=1)
    repeats: int = Field(default=1, ge=1, le=50)
    scorers: list[ScorerSpec] = Field(min_length=1)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    case_thresholds: dict[str, float] = Field(default_factory=dict)

    @field_validator("case_thresholds")
    @classmethod
    def _in_range(cls, value: dict[str, float]) -> dict[str, float]:
        for case, threshold in value.items():
            if not 0 <= threshold <= 1:
                raise ValueError(f"threshold of {case} must be within 0..1, not {threshold}")
        return value


@dataclass(frozen=True)
class EvalCase:
    """One handoff with what its plan is scored against."""

    id: str
    path: Path
    handoff: HandoffInput
    #: The golden plan as compact JSON, checked at load: a parsed one takes five times the memory, and a
    #: suite of many cases would hold them all for the whole run.
    golden_json: str
    expect: Expectations
    threshold: float

    @property
    def golden(self) -> GoldenPlan:
        """The golden plan, parsed afresh (tens of microseconds) each time it is asked for."""
        return GoldenPlan.model_validate_json(self.golden_json)


@dataclass
class Suite:
    """A loaded, validated suite."""

    name: str
    path: Path
    spec: SuiteFile
    cases: list[EvalCase]
    sha256: str
    problems: list[str] = field(default_factory=list)

    def select(self, pattern: str | None) -> list[EvalCase]:
        """The cases whose id matches a glob pattern (all when None)."""
        if not pattern:
            return list(self.cases)
        chosen = [c for c in self.cases if fnmatch.fnmatch(c.id, pattern)]
        if not chosen:
            raise BadInputError(
                f"no case of suite {self.name} matches '{pattern}' (cases: {', '.join(c.id for c in self.cases)})"
            )
        return chosen


def _pydantic_problems(exc: ValidationError, where: str) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        message = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        problems.append(f"{where}: {loc}: {message}")
    return problems


def _read_yaml(path: Path, problems: list[str]) -> Any:
    try:
        return load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        problems.append(f"{path}: not valid YAML{line}")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path}: cannot be read ({exc})")
    return None


def _case_folders(spec: SuiteFile, base: Path, problems: list[str], where: str) -> list[Path]:
    folders: list[Path] = []
    for i, entry in enumerate(spec.cases):
        pattern = str(base / entry)
        matched = sorted(Path(p) for p in glob.glob(pattern)) if glob.has_magic(entry) else [Path(pattern)]
        matched = [p for p in matched if p.is_dir()]
        if not matched:
            problems.append(f"{where}: cases[{i}]: '{entry}' matches no case folder")
        folders += [p for p in matched if p not in folders]
    return folders


def _load_case(folder: Path, threshold: float, problems: list[str]) -> EvalCase | None:
    before = len(problems)
    for required in CASE_FILES[:3]:
        if not (folder / required).is_file():
            problems.append(f"{folder / required}: missing")
    if len(problems) > before:
        return None
    notes = None
    try:
        notes = decode_notes((folder / "notes.md").read_bytes(), str(folder / "notes.md"))
    except BadInputError as exc:
        problems.append(str(exc))
    except OSError as exc:
        problems.append(f"{folder / 'notes.md'}: cannot be read ({exc.strerror})")
    handoff = None
    context_path = folder / "context.yaml"
    read_problems = len(problems)
    context_data = _read_yaml(context_path, problems)
    readable = len(problems) == read_problems  # when it is not YAML, its fields cannot be checked
    if readable and context_data is not None and not isinstance(context_data, dict):
        problems.append(f"{context_path}: must hold key: value pairs")
    elif readable:
        try:
            context = OnboardingContext.model_validate(context_data or {})
        except ValidationError as exc:
            problems += _pydantic_problems(exc, str(context_path))
        else:
            if context.start_date is None:
                # An eval must not depend on the day it runs.
                problems.append(f"{context_path}: start_date: required in an eval case")
            elif notes is not None:
                try:
                    handoff = build_handoff(notes, context, origin=str(folder / "notes.md"))
                except BadInputError as exc:
                    problems.append(str(exc))
    golden = None
    golden_path = folder / "golden.json"
    try:
        golden = GoldenPlan.model_validate(json.loads(golden_path.read_text(encoding="utf-8")))
    except json.JSONDecodeError as exc:
        problems.append(f"{golden_path}: not valid JSON ({exc.msg} at line {exc.lineno})")
    except ValidationError as exc:
        problems += _pydantic_problems(exc, str(golden_path))
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{golden_path}: cannot be read ({exc})")
    expect = Expectations()
    if (folder / "expect.yaml").is_file():
        data = _read_yaml(folder / "expect.yaml", problems)
        try:
            expect = Expectations.model_validate(data or {})
        except ValidationError as exc:
            problems += _pydantic_problems(exc, str(folder / "expect.yaml"))
    if handoff is None or golden is None or len(problems) > before:
        return None
    return EvalCase(folder.name, folder, handoff, golden.model_dump_json(), expect, threshold)


def suite_hash(path: Path, folders: list[Path]) -> str:
    """sha256 of the suite file and every file of its cases, names included."""
    digest = hashlib.sha256(path.read_bytes())
    for folder in folders:
        for name in CASE_FILES:
            file = folder / name
            if file.is_file():
                digest.update(f"\0{folder.name}/{name}\0".encode())
                digest.update(file.read_bytes().replace(b"\r\n", b"\n"))
    return digest.hexdigest()


def _salvage(data: Any, exc: ValidationError) -> SuiteFile:
    """A spec of the suite file's fields that have no error (required ones left empty), to check the rest."""
    bad = {err["loc"][0] for err in exc.errors() if err["loc"]}
    values: dict[str, Any] = {"name": "", "cases": [], "scorers": []}
    for name, info in SuiteFile.model_fields.items():
        if isinstance(data, dict) and name in data and name not in bad:
            with contextlib.suppress(ValidationError):
                values[name] = TypeAdapter(info.annotation or Any).validate_python(data[name])
    return SuiteFile.model_construct(**values)


def load_suite(path: Path | str) -> Suite:
    """Load and validate a suite; every problem found is reported in one BadInputError."""
    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"suite file {path} does not exist")
    problems: list[str] = []
    data = _read_yaml(path, problems)
    if problems:
        raise BadInputError("; ".join(problems))
    try:
        spec = SuiteFile.model_validate(data)
    except ValidationError as exc:
        problems += _pydantic_problems(exc, str(path))
        # Go on with the fields that are valid, so the cases' problems are reported in the same pass.
        spec = _salvage(data, exc)
    from onboard_llm.evals.scoring import scorer_names

    known = scorer_names()
    for i, scorer in enumerate(spec.scorers):
        if scorer.name not in known:
            problems.append(
                f"{path}: scorers[{i}].name: unknown scorer '{scorer.name}' (available: {', '.join(known)})"
            )
    folders = _case_folders(spec, path.parent, problems, str(path))
    ids = [f.name for f in folders]
    for case_id in sorted({i for i in ids if ids.count(i) > 1}):
        where = ", ".join(str(f) for f in folders if f.name == case_id)
        problems.append(f"{path}: cases: two case folders are named {case_id} ({where}); case ids must be unique")
    for case_id in spec.case_thresholds:
        if case_id not in ids:
            problems.append(f"{path}: case_thresholds.{case_id}: no such case")
    cases = []
    for folder in folders:
        case = _load_case(folder, spec.case_thresholds.get(folder.name, spec.thresholds.case), problems)
        if case is not None:
            cases.append(case)
    if problems:
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        raise BadInputError(f"suite {path} has {count}: " + "; ".join(problems))
    # Absolute: the path is stored with each run, so `onboard eval rescore` finds the suite from any folder.
    return Suite(spec.name, path.resolve(), spec, cases, suite_hash(path, folders))
