"""``onboard status`` and ``onboard reschedule``: track a dated plan and move slips.

Both commands are registered on the main group in :mod:`onboard_llm.cli`, whose
OnboardGroup turns a BadInputError into one ``error:`` line and exit code 2.
``status`` exits 3 when a usage intervention or the recovery protocol is due.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import yaml
from pydantic import ValidationError

from onboard_llm.calendar import BusinessCalendar, parse_date
from onboard_llm.errors import BadInputError
from onboard_llm.schema import OnboardingPlan
from onboard_llm.tracking import Progress, StatusReport, assess

__all__ = ["load_plan", "load_progress", "reschedule_command", "status_command"]

_MARK = {"done": "✓", "on_track": "·", "behind": "!", "stuck": "✗"}


def _read_text(path: Path, what: str) -> str:
    if not path.exists():
        raise BadInputError(f"{what} {path} does not exist")
    if path.is_dir():
        raise BadInputError(f"{what} {path} is a folder, not a file")
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadInputError(f"{what} {path} is not UTF-8 text") from None
    except OSError as exc:
        raise BadInputError(f"cannot read {what} {path}: {exc.strerror}") from None


def _problems(exc: ValidationError, limit: int = 3) -> str:
    parts = []
    for err in exc.errors()[:limit]:
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            parts.append(f"unknown field '{field}'")
        else:
            parts.append(f"{field}: {err['msg']}")
    more = len(exc.errors()) - limit
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def load_plan(path: Path) -> OnboardingPlan:
    """A dated plan from `onboard plan --format json` output."""
    text = _read_text(path, "plan file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInputError(f"plan file {path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    try:
        return OnboardingPlan.model_validate(data)
    except ValidationError as exc:
        raise BadInputError(
            f"plan file {path} is not a dated onboarding plan (from 'onboard plan --format json'): {_problems(exc)}"
        ) from None


def load_progress(path: Path) -> Progress:
    """A progress file (YAML or JSON) as a validated tracking.Progress."""
    from onboard_llm.inputs import _yaml_where, load_yaml

    text = _read_text(path, "progress file")
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        raise BadInputError(f"progress file {path} is not valid YAML ({_yaml_where(exc)})") from None
    if not isinstance(data, dict):
        raise BadInputError(f"progress file {path} must hold key: value pairs with at least as_of")
    try:
        return Progress.model_validate(data)
    except ValidationError as exc:
        raise BadInputError(f"progress file {path}: {_problems(exc)}") from None


def _label(state: str) -> str:
    return state.replace("_", " ")


def render_status(report: StatusReport) -> str:
    """The readable report of a tracking.StatusReport."""
    lines = [
        f"Status as of {report.as_of} (day {report.plan_day} of {report.target_day}): {_label(report.overall).upper()}",
        "",
        "Milestones:",
    ]
    for m in report.milestones:
        if m.status == "done":
            detail = f"done {m.completed}" + ("" if m.on_time else " (late)")
        elif m.status == "on_track":
            detail = "on track"
        else:
            detail = f"{_label(m.status)}, {m.days_overdue} business day(s) overdue"
        lines.append(f"  {_MARK[m.status]} {m.due}  {m.name} [{m.id}]: {detail}")
    lines += [
        "",
        f"Pacing: {report.percent_complete:g}% complete vs {report.elapsed_percent:g}% elapsed → "
        f"gap {report.pacing_gap:+g} ({report.pacing_band})",
        f"Health: {report.health_score}/100 ({report.health_band})",
    ]
    for i in report.health_inputs:
        score = "n/a" if i.score is None else f"{i.score:g}"
        lines.append(f"  {i.measure}: {score} × weight {i.weight:g} ({i.detail})")
    lines += ["", "Actions due:"]
    actions = [a for a in (report.intervention, report.recovery) if a is not None]
    for a in actions:
        title = "Usage intervention" if a.kind == "usage_intervention" else "Recovery reset"
        extra = f"; rescue plan until {a.rescue_plan_until}" if a.rescue_plan_until else ""
        lines.append(f"  {title} ({a.minutes} min) on {a.date}: {a.reason}{extra}")
    if not actions:
        lines.append("  none")
    return "\n".join(lines)


@click.command("status")
@click.argument("plan_json", type=click.Path(path_type=Path))
@click.option("--progress", "progress_file", required=True, type=click.Path(path_type=Path), help="Progress YAML file.")
@click.option("--holidays", envvar="ONBOARD_HOLIDAYS", help="Country code whose public holidays are skipped, e.g. US.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def status_command(
    ctx: click.Context, plan_json: Path, progress_file: Path, holidays: str | None, as_json: bool
) -> None:
    """Deterministic status of a plan from a progress file (exit 3 when an intervention or recovery is due)."""
    plan = load_plan(plan_json)
    progress = load_progress(progress_file)
    calendar = BusinessCalendar(holidays or plan.holidays)
    report = assess(plan, progress, calendar)
    if as_json:
        click.echo(report.model_dump_json(indent=2))
    else:
        click.echo(render_status(report))
    ctx.exit(report.exit_code)


def default_baseline_path(plan_json: Path, output: Path | None) -> Path:
    """PLAN.baseline.json next to the output (or next to the input plan when printing to stdout)."""
    base = output if output is not None else plan_json
    name = base.name.removesuffix(".json")
    return base.with_name(f"{name}.baseline.json")


@click.command("reschedule")
@click.argument("plan_json", type=click.Path(path_type=Path))
@click.option("--milestone", required=True, help="Milestone id or name to move.")
@click.option("--to", "to_date", required=True, help="New date, YYYY-MM-DD (moved forward to a business day).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the new plan here.")
@click.option(
    "--baseline-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Baseline file, written only if absent (default: PLAN.baseline.json next to the output).",
)
@click.option("--holidays", envvar="ONBOARD_HOLIDAYS", help="Country code whose public holidays are skipped, e.g. US.")
def reschedule_command(
    plan_json: Path,
    milestone: str,
    to_date: str,
    output: Path | None,
    baseline_out: Path | None,
    holidays: str | None,
) -> None:
    """Move a milestone and everything that depends on it on business days, keeping the baseline."""
    from onboard_llm.reschedule import compare, reschedule
    from onboard_llm.rules import check_plan

    plan = load_plan(plan_json)
    when = parse_date(to_date)
    calendar = BusinessCalendar(holidays or plan.holidays)
    new_plan, variance = reschedule(plan, milestone, when, calendar)

    baseline_path = baseline_out or default_baseline_path(plan_json, output)
    baseline = plan
    try:
        if baseline_path.exists():
            baseline = load_plan(baseline_path)
            kept = f"baseline kept: {baseline_path} (already present)"
        else:
            baseline_path.write_text(plan.model_dump_json(indent=2) + "\n", encoding="utf-8")
            kept = f"baseline written: {baseline_path}"
        text = new_plan.model_dump_json(indent=2) + "\n"
        if output is not None:
            output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BadInputError(f"cannot write {exc.filename}: {exc.strerror}") from None

    click.echo(f"Moved {len(variance)} item(s):", err=output is None)
    for v in variance:
        click.echo(
            f"  {v.kind:<9} {v.id:<22} {v.baseline_date} → {v.new_date} ({v.business_days_moved:+d} business days)  "
            f"{v.name}",
            err=output is None,
        )
    if baseline is not plan:
        total = compare(baseline, new_plan, calendar)
        click.echo(f"Variance against the baseline: {len(total)} item(s) moved", err=output is None)
        for v in total:
            click.echo(
                f"  {v.id:<22} {v.baseline_date} → {v.new_date} ({v.business_days_moved:+d} business days)",
                err=output is None,
            )
    click.echo(kept, err=output is None)
    for violation in check_plan(new_plan, generated=False):
        click.echo(f"warning: {violation.message}", err=True)
    if output is None:
        click.echo(text, nl=False)
    else:
        click.echo(f"plan written: {output}")
