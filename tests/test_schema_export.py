"""The JSON Schemas in schemas/ are current and meet strict structured-output rules."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel

from onboard_llm.recovery_schema import RecoveryPlan
from onboard_llm.schema import OnboardingPlan, PlanDraft
from onboard_llm.schema_export import (
    SCHEMA_FILES,
    schema_file_text,
    strict_json_schema,
    strict_mode_problems,
    write_schema_files,
)

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
MODELS = sorted(SCHEMA_FILES.items())

# Keywords whose values hold subschemas; everything else is data (enum values,
# required names) and must not be walked as a schema.
_MAPS = ("properties", "$defs")
_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SINGLE = ("items", "additionalProperties", "not", "contains")


def subschemas(node: dict[str, Any], path: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema node with its JSON pointer, the root included."""
    yield path, node
    for key in _MAPS:
        for name, sub in node.get(key, {}).items():
            yield from subschemas(sub, f"{path}/{key}/{name}")
    for key in _LISTS:
        for i, sub in enumerate(node.get(key, [])):
            yield from subschemas(sub, f"{path}/{key}/{i}")
    for key in _SINGLE:
        if isinstance(node.get(key), dict):
            yield from subschemas(node[key], f"{path}/{key}")


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize(("name", "model"), MODELS)
def test_schema_file_matches_the_models(name: str, model: type[BaseModel]) -> None:
    path = SCHEMAS / name
    assert path.is_file(), f"{path} is missing; run: python scripts/update_schemas.py"
    assert path.read_text(encoding="utf-8") == schema_file_text(model), (
        f"{path} is out of date with the models; run: python scripts/update_schemas.py"
    )


def test_schemas_folder_holds_only_generated_files() -> None:
    assert sorted(p.name for p in SCHEMAS.glob("*.json")) == sorted(SCHEMA_FILES)


def test_write_schema_files_writes_what_the_check_expects(tmp_path: Path) -> None:
    written = write_schema_files(tmp_path)
    assert sorted(p.name for p in written) == sorted(SCHEMA_FILES)
    for path in written:
        assert path.read_text(encoding="utf-8") == (SCHEMAS / path.name).read_text(encoding="utf-8")


@pytest.mark.parametrize(("name", "model"), MODELS)
def test_every_object_is_closed_and_fully_required(name: str, model: type[BaseModel]) -> None:
    schema = load(name)
    assert schema["type"] == "object", "the top level of a strict schema must be an object"
    objects = 0
    for path, node in subschemas(schema):
        if "$ref" in node:
            assert list(node) == ["$ref"], f"{name} {path}: $ref must stand alone, found {sorted(node)}"
            assert node["$ref"].startswith("#/$defs/"), f"{name} {path}: $ref {node['$ref']}"
            assert node["$ref"].removeprefix("#/$defs/") in schema["$defs"], f"{name} {path}: dangling $ref"
        if node.get("type") == "object" or "properties" in node:
            objects += 1
            assert node.get("additionalProperties") is False, f"{name} {path}: additionalProperties must be false"
            assert sorted(node["required"]) == sorted(node["properties"]), f"{name} {path}: not every property required"
            assert len(node["required"]) == len(set(node["required"])), f"{name} {path}: duplicate required names"
        for keyword in ("default", "minLength", "maxLength"):
            assert keyword not in node, f"{name} {path}: strict mode refuses '{keyword}'"
        if path != "#":
            assert "title" not in node, f"{name} {path}: titles are noise below the top level"
    # Sanity: the walk reached the top level and every object it defines.
    defined = sum(1 for d in schema.get("$defs", {}).values() if d.get("type") == "object")
    assert objects >= 1 + defined >= 7, "the walk found too few objects to be looking at the schema"


def _model_objects(model: type[BaseModel]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(where, pydantic's object schema, our strict object schema) for the root and every $def."""
    raw = model.model_json_schema(mode="validation")
    strict = strict_json_schema(model)
    yield "#", raw, strict
    for def_name, raw_def in raw.get("$defs", {}).items():
        if "properties" in raw_def:
            yield f"#/$defs/{def_name}", raw_def, strict["$defs"][def_name]


@pytest.mark.parametrize(("name", "model"), MODELS)
def test_strict_schema_keeps_every_model_field(name: str, model: type[BaseModel]) -> None:
    # A field called "title" or "format" is a property, not a keyword to drop.
    for where, raw, strict in _model_objects(model):
        assert list(strict["properties"]) == list(raw["properties"]), f"{name} {where}: properties differ"


@pytest.mark.parametrize(("name", "model"), MODELS)
def test_optional_fields_are_nullable(name: str, model: type[BaseModel]) -> None:
    optional = 0
    for where, raw, strict in _model_objects(model):
        for prop, raw_prop in raw["properties"].items():
            if "default" in raw_prop and raw_prop["default"] is None:
                optional += 1
                branches = strict["properties"][prop].get("anyOf", [])
                assert {"type": "null"} in branches, f"{name} {where}/{prop}: an optional field must be nullable"
                assert len(branches) == 2, f"{name} {where}/{prop}: expected one type or null, got {branches}"
    # Sanity: the plan models have many optional fields (a rescue plan has none).
    assert optional > 10 or model is RecoveryPlan, (
        "too few optional fields found; the check is not looking at the models"
    )


@pytest.mark.parametrize(("name", "model"), MODELS)
def test_schema_passes_strict_mode_problems(name: str, model: type[BaseModel]) -> None:
    assert strict_mode_problems(load(name)) == []
    assert strict_mode_problems(strict_json_schema(model)) == []


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (lambda s: s["$defs"]["Task"]["required"].remove("title"), "properties not required"),
        (lambda s: s["$defs"]["Task"].pop("additionalProperties"), "additionalProperties must be false"),
        (lambda s: s["$defs"]["Task"]["properties"]["owner"].update(default="csm"), "keyword 'default'"),
        (lambda s: s["$defs"]["Task"]["properties"]["owner"].update(minLength=1), "keyword 'minLength'"),
        (lambda s: s["properties"]["customer"].update(description="x"), "$ref must stand alone"),
        (lambda s: s["$defs"]["Meeting"]["properties"]["agenda"]["items"].update(type="object"), "must be false"),
    ],
)
def test_strict_mode_problems_finds_breakage(breakage: Any, expected: str) -> None:
    schema = copy.deepcopy(strict_json_schema(PlanDraft))
    breakage(schema)
    problems = strict_mode_problems(schema)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(("name", "model"), MODELS)
def test_schema_is_valid_draft_2020_12(name: str, model: type[BaseModel]) -> None:
    schema = load(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def _formats(schema: dict[str, Any]) -> list[str]:
    return [path for path, node in subschemas(schema) if node.get("format") == "date"]


def test_draft_schema_has_no_dates_and_the_plan_schema_does() -> None:
    assert _formats(load("plan_draft.schema.json")) == [], "the schema sent to the model must have no date fields"
    dated = _formats(load("onboarding_plan.schema.json"))
    assert "#/$defs/Customer/properties/start_date" in dated
    assert "#/$defs/DatedTask/properties/date" in dated


def minimal_draft() -> PlanDraft:
    """The smallest plan the models accept, to prove the strict schema accepts real dumps."""
    return PlanDraft.model_validate(
        {
            "customer": {"company": "Acme", "implementation_complexity": "low"},
            "primary_goal": "First value in 30 days",
            "success_metrics": [{"name": "Active users", "target": 80, "unit": "%", "by_day": 60}],
            "stated_goals": [
                {"goal": "g", "why_it_matters": "w", "how_product_helps": "h", "success_measure": "s"},
            ],
            "outcome_brief": {},
            "stakeholders": [{"name": "Dana Kim", "title": "VP Ops", "role": "project_lead", "side": "customer"}],
            "raci": [{"activity": "Kickoff", "responsible": ["csm"], "accountable": "csm"}],
            "phases": [
                {
                    "id": "p1",
                    "name": "Setup",
                    "start_day": 1,
                    "end_day": 90,
                    "objectives": ["Go live"],
                    "milestones": [{"id": "m1", "name": "Live", "day": 20, "owner": "csm", "success_check": "ok"}],
                    "tasks": [{"id": "t1", "title": "Send user list", "owner": "admin", "due_day": 5}],
                }
            ],
            "meetings": [
                {"id": "k", "kind": "kickoff", "title": "Kickoff", "day": 3, "duration_minutes": 60},
            ],
            "risks": [{"risk": "r", "probability": "low", "mitigation": "m"}],
            "transition": {"cadence": [{"activity": "QBR", "frequency": "quarterly"}]},
            "recovery_protocol": {"trigger": "t", "reset": "r"},
        }
    )


def test_a_model_dump_validates_against_the_draft_schema() -> None:
    data = minimal_draft().model_dump(mode="json")
    Draft202012Validator(load("plan_draft.schema.json")).validate(data)
    assert data["phases"][0]["tasks"][0]["title"] == "Send user list"


def test_a_scheduled_plan_validates_against_the_plan_schema() -> None:
    from onboard_llm.calendar import BusinessCalendar
    from onboard_llm.scheduling import schedule

    plan = schedule(minimal_draft(), dt.date(2026, 3, 2), BusinessCalendar())
    assert isinstance(plan, OnboardingPlan)
    Draft202012Validator(load("onboarding_plan.schema.json")).validate(plan.model_dump(mode="json"))
