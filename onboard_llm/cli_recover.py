"""``onboard emails`` and ``onboard recover``: drafts of the plan's emails and a 14-day rescue plan.

Both commands are registered on the main group in :mod:`onboard_llm.cli`, whose
OnboardGroup turns a BadInputError into one ``error:`` line and exit code 2.
"""

from __future__ import annotations

from pathlib import Path

import click

from onboard_llm.calendar import BusinessCalendar
from onboard_llm.cli_track import load_plan, load_progress
from onboard_llm.errors import BadInputError

__all__ = ["emails_command", "recover_command"]


def _write(path: Path, data: str | bytes) -> None:
    if not path.parent.is_dir():
        raise BadInputError(f"cannot write {path}: folder {path.parent} does not exist")
    try:
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    except OSError as exc:
        raise BadInputError(f"cannot write {path}: {exc.strerror}") from None


@click.command("emails")
@click.argument("plan_json", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["md", "eml"]), default="md", show_default=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Markdown: the file to write. eml: the folder to write into.",
)
def emails_command(plan_json: Path, fmt: str, output: Path | None) -> None:
    """Draft the plan's communications as ready-to-edit emails (Markdown or .eml files)."""
    from onboard_llm.emails import draft_emails, eml_filename, to_eml, to_markdown

    plan = load_plan(plan_json)
    drafts = draft_emails(plan)
    if fmt == "md":
        text = to_markdown(drafts, title=f"Email drafts: {plan.customer.company}")
        if output is None:
            click.echo(text, nl=False)
        else:
            if output.is_dir():
                raise BadInputError(f"{output} is a folder; give a file for --format md")
            _write(output, text)
            click.echo(f"{len(drafts)} draft(s) written: {output}", err=True)
        return
    if output is None:
        raise BadInputError("--format eml writes one file per email; give a folder with -o DIR")
    if output.exists() and not output.is_dir():
        raise BadInputError(f"{output} is a file; give a folder for --format eml")
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInputError(f"cannot create folder {output}: {exc.strerror}") from None
    for draft in drafts:
        path = output / eml_filename(draft)
        _write(path, to_eml(draft))
        click.echo(str(path))


@click.command("recover")
@click.argument("plan_json", type=click.Path(path_type=Path))
@click.option("--progress", "progress_file", required=True, type=click.Path(path_type=Path), help="Progress YAML file.")
@click.option("--provider", "provider_spec", help="Provider spec, e.g. offline or openai:gpt-4.1-mini.")
@click.option("--prompt", default="recovery@latest", show_default=True, help="Recovery prompt version.")
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here instead of stdout.")
@click.option("--holidays", envvar="ONBOARD_HOLIDAYS", help="Country code whose public holidays are skipped, e.g. US.")
def recover_command(
    plan_json: Path,
    progress_file: Path,
    provider_spec: str | None,
    prompt: str,
    fmt: str,
    output: Path | None,
    holidays: str | None,
) -> None:
    """A 14-day rescue plan (recovery protocol) from a plan and its progress file."""
    from onboard_llm.providers.base import default_provider_spec
    from onboard_llm.recovery import generate_recovery, render_recovery_markdown
    from onboard_llm.tracking import assess

    plan = load_plan(plan_json)
    progress = load_progress(progress_file)
    calendar = BusinessCalendar(holidays or plan.holidays)
    report = assess(plan, progress, calendar)
    if report.recovery is None:
        click.echo(
            "warning: the recovery protocol is not due (it needs a missed milestone, low adoption and a negative "
            "pulse); writing a rescue plan anyway",
            err=True,
        )
    result = generate_recovery(plan, report, provider=provider_spec or default_provider_spec(), prompt=prompt)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if fmt == "json":
        # The bare recovery_plan object, so the file validates against the schema as it is.
        text = result.recovery.model_dump_json(indent=2) + "\n"
        click.echo(f"{result.prompt_ref} ({result.prompt_sha256[:12]}) via {result.provider}:{result.model}", err=True)
    else:
        day_one = (
            report.recovery.date if report.recovery else calendar.next_business_day(report.as_of, include_self=False)
        )
        text = render_recovery_markdown(
            result.recovery, day_one=day_one, calendar=calendar, company=plan.customer.company
        )
    if output is None:
        click.echo(text, nl=False)
    else:
        _write(output, text)
        click.echo(f"rescue plan written: {output} ({result.prompt_ref}, {result.provider})", err=True)
