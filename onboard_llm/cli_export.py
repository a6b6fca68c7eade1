"""``onboard export``: render a saved plan (the JSON of ``onboard plan --format json``) in another format."""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from onboard_llm.errors import BadInputError, OnboardError
from onboard_llm.schema import OnboardingPlan

EXPORT_FORMATS = ("md", "json", "html", "ics", "csv")
# A saved plan is a few hundred kilobytes at most; the bound keeps a wrong file from filling memory.
MAX_PLAN_BYTES = 20_000_000


@click.command("export")
@click.argument("plan_json", metavar="PLAN_JSON")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(EXPORT_FORMATS, case_sensitive=False),
    required=True,
    help="Output format: Markdown one-pager, JSON, ICS calendar or CSV task list.",
)
@click.option(
    "--audience",
    type=click.Choice(("internal", "customer"), case_sensitive=False),
    default="internal",
    show_default=True,
    help="customer leaves out what is not customer-visible (md, ics, csv).",
)
@click.option("--meeting-time", default="10:00", show_default=True, help="Meeting start time, HH:MM (ics).")
@click.option("--tz", default="UTC", show_default=True, help="IANA timezone of the meetings, e.g. Europe/Berlin (ics).")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file instead of stdout."
)
@click.pass_context
def export(
    ctx: click.Context,
    plan_json: str,
    fmt: str,
    audience: str,
    meeting_time: str,
    tz: str,
    output: Path | None,
) -> None:
    """Export a saved plan, PLAN_JSON (a file, or - for stdin), as md, json, ics or csv."""
    try:
        _export(
            ctx, plan_json, fmt.lower(), {"audience": audience.lower(), "meeting_time": meeting_time, "tz": tz}, output
        )
    except OnboardError as exc:
        # Inside the onboard group this is what the group does too; standing alone it keeps the one-line rule.
        root = ctx.find_root()
        if isinstance(root.obj, dict) and root.obj.get("debug"):
            raise
        click.echo(f"error: {exc}", err=True)
        ctx.exit(exc.exit_code)


def _export(ctx: click.Context, source: str, fmt: str, given: dict[str, Any], output: Path | None) -> None:
    from onboard_llm.exporters import EXPORTERS, export

    if output is not None and not output.parent.is_dir():
        raise BadInputError(f"cannot write {output}: folder {output.parent} does not exist")
    plan = load_plan(source)
    takes = {
        name
        for name, param in inspect.signature(EXPORTERS[fmt]).parameters.items()
        if param.kind is inspect.Parameter.KEYWORD_ONLY
    }
    for name in sorted(set(given) - takes):
        # Ignoring --audience customer for json would hand the customer the internal plan.
        if ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE:
            flag = "--" + name.replace("_", "-")
            raise BadInputError(f"{flag} does not apply to --format {fmt}")
    rendered = export(plan, fmt, **{k: v for k, v in given.items() if k in takes})
    if output is None:
        click.echo(rendered, nl=not rendered.endswith("\n"))
        return
    try:
        # newline="" so the CSV's and ICS's own line endings reach the file unchanged on every OS.
        with output.open("w", encoding="utf-8", newline="") as handle:
            handle.write(rendered)
    except OSError as exc:
        raise BadInputError(f"cannot write {output}: {exc.strerror}") from None
    click.echo(f"wrote {output}", err=True)


def load_plan(source: str) -> OnboardingPlan:
    """A dated plan from a JSON file (or ``-`` for stdin); any problem is a one-line BadInputError."""
    name = "standard input" if source == "-" else source
    if source == "-":
        data = sys.stdin.buffer.read(MAX_PLAN_BYTES + 1)
    else:
        path = Path(source)
        if not path.exists():
            raise BadInputError(f"plan file {source} does not exist")
        if path.is_dir():
            raise BadInputError(f"{source} is a folder; give a plan JSON file")
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_PLAN_BYTES + 1)
        except OSError as exc:
            raise BadInputError(f"cannot read {source}: {exc.strerror}") from None
    if len(data) > MAX_PLAN_BYTES:
        raise BadInputError(f"{name} is larger than {MAX_PLAN_BYTES:,} bytes; is it really a plan?")
    try:
        raw = json.loads(data)
    except UnicodeDecodeError:
        raise BadInputError(f"{name} is not UTF-8 text; expected the JSON of 'onboard plan --format json'") from None
    except json.JSONDecodeError as exc:
        raise BadInputError(
            f"{name} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "expected the JSON of 'onboard plan --format json'"
        ) from None
    try:
        return OnboardingPlan.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        where = ".".join(str(part) for part in first["loc"]) or "top level"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise BadInputError(
            f"{name} is not a dated onboarding plan: {where}: {first['msg']}{more}; "
            "expected the JSON of 'onboard plan --format json'"
        ) from None


__all__ = ["EXPORT_FORMATS", "export", "load_plan"]
