"""JSON Schemas of the plan models, in the form strict structured output accepts.

OpenAI's strict ``json_schema`` mode wants every property required (optional
fields become nullable instead), ``additionalProperties: false`` on every
object, and no keywords outside its supported subset. The same schema goes to
every provider and into ``schemas/``, where a test keeps the files in step
with the models.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from onboard_llm.recovery_schema import RecoveryPlan
from onboard_llm.resources import data_dir
from onboard_llm.schema import OnboardingPlan, PlanDraft

#: Keywords pydantic emits that strict mode rejects or that only add noise.
_DROP = frozenset({"default", "title", "minLength", "maxLength"})
SCHEMA_FILES: dict[str, type[BaseModel]] = {
    "plan_draft.schema.json": PlanDraft,
    "onboarding_plan.schema.json": OnboardingPlan,
    "recovery_plan.schema.json": RecoveryPlan,
}


#: Keywords whose value is a map of names to subschemas, a list of subschemas,
#: or one subschema. Only these are walked as schemas: a model field may be
#: called "title", "default" or "format", and a property name is not a keyword.
_SCHEMA_MAPS = frozenset({"properties", "$defs", "definitions", "patternProperties"})
_SCHEMA_LISTS = frozenset({"anyOf", "oneOf", "allOf", "prefixItems"})
_SCHEMA_SINGLE = frozenset({"items", "additionalProperties", "not", "contains"})


def _strict(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        # Keywords beside a $ref are ignored or refused by strict validators.
        return {"$ref": node["$ref"]}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP:
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _strict(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [_strict(sub) for sub in value]
        elif key in _SCHEMA_SINGLE and isinstance(value, dict):
            out[key] = _strict(value)
        else:
            out[key] = value
    if node.get("type") == "object" or "properties" in node:
        props = out.get("properties", {})
        out["type"] = "object"
        out["properties"] = props
        out["required"] = list(props)
        out["additionalProperties"] = False
    return out


@cache
def _strict_cached(model: type[BaseModel]) -> str:
    schema = model.model_json_schema(mode="validation")
    strict = _strict(schema)
    strict["title"] = model.__name__
    return json.dumps(strict, sort_keys=False)


def strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON Schema with strict structured-output rules applied (a fresh copy)."""
    loaded: dict[str, Any] = json.loads(_strict_cached(model))
    return loaded


def schema_file_text(model: type[BaseModel]) -> str:
    """The exact text of a schema file under ``schemas/``."""
    document = {"$schema": "https://json-schema.org/draft/2020-12/schema", **strict_json_schema(model)}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write_schema_files(folder: Path | None = None) -> list[Path]:
    """(Re)write every schema file; returns the paths written."""
    target = folder or data_dir("schemas")
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in SCHEMA_FILES.items():
        path = target / name
        path.write_text(schema_file_text(model), encoding="utf-8")
        written.append(path)
    return written


def strict_mode_problems(schema: dict[str, Any], path: str = "#") -> list[str]:
    """Where a schema breaks the strict structured-output rules; empty when it complies."""
    problems: list[str] = []
    if not isinstance(schema, dict):
        return [f"{path}: a schema must be an object, not {type(schema).__name__}"]
    if path == "#" and schema.get("type") != "object":
        problems.append("#: the top level must be an object schema")
    if "$ref" in schema and len(schema) > 1:
        problems.append(f"{path}: $ref must stand alone")
    if schema.get("type") == "object" or "properties" in schema:
        props = schema.get("properties")
        if not isinstance(props, dict):
            problems.append(f"{path}: an object must list its properties")
            props = {}
        if schema.get("additionalProperties") is not False:
            problems.append(f"{path}: additionalProperties must be false")
        missing = set(props) - set(schema.get("required", []))
        if missing:
            problems.append(f"{path}: properties not required: {sorted(missing)}")
    for bad in sorted(_DROP & set(schema)):
        if not (bad == "title" and path == "#"):
            problems.append(f"{path}: keyword '{bad}' is not allowed in strict mode")
    for key, value in schema.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            for name, sub in value.items():
                problems += strict_mode_problems(sub, f"{path}/{key}/{name}")
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            for i, sub in enumerate(value):
                problems += strict_mode_problems(sub, f"{path}/{key}/{i}")
        elif key in _SCHEMA_SINGLE and isinstance(value, dict):
            problems += strict_mode_problems(value, f"{path}/{key}")
    return problems
