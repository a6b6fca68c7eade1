"""``onboard logs``: browse the generation log (list recent generations, show one in full)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import click

from onboard_llm.errors import BadInputError
from onboard_llm.genlog import GenerationLog, GenerationRecord
from onboard_llm.paths import default_db_path

_db_option = click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="ONBOARD_DB",
    help="The onboard database (default: onboard.sqlite3 in the user data dir; also ONBOARD_DB).",
)


def _time(created_at: str) -> str:
    # Stored as ISO 8601 in UTC ("2026-11-23T06:11:34+00:00"); shown to the minute.
    return created_at.replace("T", " ")[:16] + "Z" if "T" in created_at else created_at


def _cost(cost: float | None) -> str:
    if cost is None:
        return "-"
    if cost == 0:
        return "$0"
    if cost < 0.0001:
        return "<$0.0001"
    return f"${cost:.4f}" if cost < 1 else f"${cost:,.2f}"


def _tokens(usage: dict[str, int]) -> str:
    return f"{usage.get('input', 0):,}/{usage.get('output', 0):,}"


def _table(rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return lines


@click.group("logs")
def logs() -> None:
    """Browse the log of generated plans: prompts, answers, tokens, cost, errors."""


@logs.command("list")
@_db_option
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="How many, newest first.")
def list_command(db: Path | None, limit: int) -> None:
    """List recent generations, newest first."""
    path = db or default_db_path()
    with GenerationLog(path) as log:
        records = log.list(limit)
    if not records:
        click.echo(f"no generations logged yet in {path}", err=True)
        return
    header = ["ID", "TIME (UTC)", "PROMPT", "PROVIDER:MODEL", "ATTEMPTS", "TOKENS IN/OUT", "COST", "STATUS"]
    rows = [header]
    for rec in records:
        rows.append(
            [
                str(rec.id),
                _time(rec.created_at),
                rec.prompt_ref,
                f"{rec.provider}:{rec.model}",
                str(len(rec.attempts)),
                _tokens(rec.usage),
                _cost(rec.cost_usd),
                rec.status,
            ]
        )
    for line in _table(rows, right={0, 4, 5, 6}):
        click.echo(line)


@logs.command("show")
@click.argument("generation_id", metavar="ID", type=int)
@_db_option
@click.option(
    "--messages/--no-messages",
    default=None,
    help="Include the rendered prompt messages (default: no in text, yes in --json).",
)
@click.option("--raw", is_flag=True, help="Also print each attempt's response body as the vendor sent it.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole record as JSON.")
def show_command(generation_id: int, db: Path | None, messages: bool | None, raw: bool, as_json: bool) -> None:
    """Show one generation in full: parameters, every attempt's answer and errors, the plan, cost."""
    path = db or default_db_path()
    with GenerationLog(path) as log:
        rec = log.get(generation_id)
    if rec is None:
        where = f"in {path}" if path.exists() else f"({path} does not exist yet)"
        raise BadInputError(f"no generation with id {generation_id} {where}; see 'onboard logs list'")
    if as_json:
        data = rec.to_dict()
        if messages is False:
            data.pop("messages")
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    for line in _describe(rec, messages=bool(messages), raw=raw):
        click.echo(line)


def _indent(text: str, prefix: str = "    ") -> str:
    return textwrap.indent(text.rstrip("\n") or "(empty)", prefix, lambda _line: True)


def _plan_summary(plan: dict[str, Any]) -> tuple[str, str]:
    customer = plan.get("customer")
    company = customer.get("company") if isinstance(customer, dict) else None
    goal = plan.get("primary_goal")
    return (str(company) if company else "?"), (str(goal) if goal else "?")


def _describe(rec: GenerationRecord, *, messages: bool, raw: bool) -> list[str]:
    usage = rec.usage
    params = " ".join(f"{key}={value}" for key, value in sorted(rec.params.items())) or "-"
    lines = [
        f"generation {rec.id}  [{rec.status}]",
        f"  time       {rec.created_at}",
        f"  prompt     {rec.prompt_ref}  sha256 {rec.prompt_sha256}",
        f"  model      {rec.provider}:{rec.model}",
        f"  params     {params}",
        f"  tokens     in {usage.get('input', 0):,} (cached {usage.get('cached', 0):,}) / out {usage.get('output', 0):,}",
        f"  cost       {_cost(rec.cost_usd)}",
        f"  latency    {rec.latency_s:.2f} s",
        f"  attempts   {len(rec.attempts)}",
    ]
    if rec.plan is not None:
        company, goal = _plan_summary(rec.plan)
        lines.append(f"  company    {company}")
        lines.append(f"  goal       {goal}")
    if rec.error is not None:
        lines.append(f"  error      {rec.error}")
    for attempt in rec.attempts:
        lines.extend(_describe_attempt(attempt, raw=raw))
    if messages:
        lines.append("")
        lines.append("messages:")
        for message in rec.messages:
            lines.append(f"  --- {message.get('role', '?')} ---")
            lines.append(_indent(str(message.get("content", ""))))
    return lines


def _describe_attempt(attempt: dict[str, Any], *, raw: bool) -> list[str]:
    usage = attempt.get("usage") or {}
    seconds = attempt.get("seconds")
    facts = [
        f"stage {attempt.get('stage', '?')}",
        f"finish {attempt.get('finish_reason', '?')}",
        f"{usage.get('input', 0):,} in / {usage.get('output', 0):,} out",
    ]
    if isinstance(seconds, int | float):
        facts.append(f"{seconds:.2f} s")
    if attempt.get("cached"):
        facts.append("from cache")
    lines = ["", f"attempt {attempt.get('number', '?')}: " + ", ".join(facts)]
    errors = attempt.get("errors") or []
    if errors:
        lines.append("  errors:")
        lines.extend(f"    - {error}" for error in errors)
    lines.append("  answer:")
    lines.append(_indent(str(attempt.get("text") or "")))
    body = attempt.get("raw")
    if raw:
        lines.append("  vendor body:")
        lines.append(_indent(body if isinstance(body, str) else "(none)"))
    elif isinstance(body, str):
        lines.append(f"  (vendor body: {len(body):,} characters; --raw shows it)")
    return lines


__all__ = ["logs"]
