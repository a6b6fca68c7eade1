"""The ``onboard`` command line: parse options, call the library, print.

Errors the user can fix are printed on one line and exit with the code from
the README's table (2 bad input, 1 generation failed); ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from onboard_llm.errors import BadInputError, OnboardError

F = TypeVar("F", bound=Callable[..., Any])
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


# click 8.2+ raises this for a bare group name; it prints the help, so leave it alone.
_NO_ARGS_IS_HELP: Any = getattr(click.exceptions, "NoArgsIsHelpError", ())


class OneLineUsageError(click.ClickException):
    """A click usage error shown as one ``error:`` line (click's own spans usage, hint and message)."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, error: click.UsageError) -> None:
        super().__init__(error.format_message().rstrip("."))
        self.command_path = error.ctx.command_path if error.ctx is not None else "onboard"

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()} (see '{self.command_path} --help')", err=True)


def _one_line(exc: click.UsageError) -> click.ClickException:
    return exc if isinstance(exc, _NO_ARGS_IS_HELP) else OneLineUsageError(exc)


class OnboardGroup(click.Group):
    """A click group that turns OnboardError and usage errors into one line and an exit code."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            raise _one_line(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise _one_line(exc) from None
        except OnboardError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)


def _read_notes(source: str) -> tuple[str, str]:
    """Notes text and a name for messages, from a file path or '-' for stdin."""
    if source == "-":
        from onboard_llm.inputs import decode_notes

        if sys.stdin.isatty():
            click.echo("Paste the handoff notes, then press Ctrl-D on an empty line:", err=True)
        data: bytes = sys.stdin.buffer.read()
        return decode_notes(data, "standard input"), "standard input"
    path = Path(source)
    if not path.exists():
        raise BadInputError(f"notes file {source} does not exist")
    if path.is_dir():
        raise BadInputError(f"{source} is a folder; give a notes file, or - for standard input")
    from onboard_llm.inputs import MAX_NOTES_BYTES, decode_notes

    try:
        size = path.stat().st_size
        if size > MAX_NOTES_BYTES:
            raise BadInputError(f"{source} is {size:,} bytes; handoff notes are limited to {MAX_NOTES_BYTES:,} bytes")
        data = path.read_bytes()
    except OSError as exc:
        raise BadInputError(f"cannot read {source}: {exc.strerror}") from None
    return decode_notes(data, source), source


def context_options(func: F) -> F:
    """The onboarding-context flags shared by every command that takes notes."""
    options = [
        click.option(
            "--context",
            "context_file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Onboarding context as a YAML or JSON file.",
        ),
        click.option("--company", help="Customer company name."),
        click.option("--industry", help="Customer industry."),
        click.option("--size", help="Customer size, e.g. '850 employees'."),
        click.option("--tier", "product_tier", help="Product and tier bought."),
        click.option(
            "--complexity",
            type=click.Choice(["low", "medium", "high"], case_sensitive=False),
            help="Implementation complexity.",
        ),
        click.option("--start-date", help="Day 1 of the plan, YYYY-MM-DD (default: next business day)."),
        click.option("--csm", help="Assigned customer success manager."),
        click.option(
            "--holidays", envvar="ONBOARD_HOLIDAYS", help="Country code whose public holidays are skipped, e.g. US."
        ),
        click.option(
            "--prompts-dir",
            "prompts_dir",
            multiple=True,
            type=click.Path(file_okay=False, path_type=Path),
            help="Extra folder of prompt templates (repeatable; also ONBOARD_PROMPTS_DIR).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _handoff(notes: str, origin: str, opts: dict[str, Any]) -> Any:
    from onboard_llm.calendar import BusinessCalendar, parse_date
    from onboard_llm.inputs import build_handoff

    explicit: dict[str, Any] = {
        key: opts[key] for key in ("company", "industry", "size", "product_tier", "csm") if opts.get(key)
    }
    if opts.get("complexity"):
        explicit["implementation_complexity"] = opts["complexity"].lower()
    if opts.get("start_date"):
        explicit["start_date"] = parse_date(opts["start_date"])
    calendar = BusinessCalendar(opts.get("holidays"))
    context_file = opts.get("context_file")
    return build_handoff(notes, explicit or None, context_file=context_file, calendar=calendar, origin=origin)


@click.group(cls=OnboardGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="onboard-llm", prog_name="onboard")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Turn sales handoff notes into a dated 90-day onboarding plan, and evaluate prompt versions."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    from onboard_llm.config import load_defaults

    defaults = load_defaults()
    if defaults:
        # Config keys are option names; click's default map is keyed by parameter name.
        params = {"provider": "provider", "prompt": "prompt_ref", "holidays": "holidays"}
        params |= {"prompts_dir": "prompts_dir", "max_reasks": "max_reasks", "model": "model", "db": "db", "tz": "tz"}
        shared = {params[k]: v for k, v in defaults.items() if k in params}
        prompt_only = {k: v for k, v in shared.items() if k in ("prompt_ref", "holidays", "prompts_dir")}
        ctx.default_map = {
            "plan": shared,
            "prompts": {"render": prompt_only, "list": prompt_only, "show": prompt_only, "diff": prompt_only},
            "logs": {"list": {"db": shared["db"]}, "show": {"db": shared["db"]}} if "db" in shared else {},
            "export": {k: v for k, v in shared.items() if k == "tz"},
            "status": {k: v for k, v in shared.items() if k == "holidays"},
            "reschedule": {k: v for k, v in shared.items() if k == "holidays"},
            "eval": {
                command: {k: v for k, v in shared.items() if k in ("db", "provider", "model", "prompts_dir")}
                for command in ("run", "runs", "show", "rescore")
            },
        }


def provider_options(func: F) -> F:
    """Which model answers, and how hard to try: shared by every command that calls a provider."""
    options = [
        click.option(
            "--provider",
            envvar="ONBOARD_PROVIDER",
            help="Provider spec: offline, openai[:MODEL], anthropic[:MODEL], openai-compatible[:MODEL].",
        ),
        click.option("--model", envvar="ONBOARD_MODEL", help="Model name (overrides the one in --provider)."),
        click.option("--base-url", help="API base URL (openai: also OPENAI_BASE_URL; required for openai-compatible)."),
        click.option(
            "--max-retries",
            type=click.IntRange(0, 20),
            default=4,
            show_default=True,
            help="Retries of a transient failure (429, 5xx, timeouts).",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(1, 3600),
            default=300.0,
            show_default=True,
            help="Seconds allowed for one request, retries included.",
        ),
        click.option("--max-cost", type=float, help="Stop before spending more than this many US dollars."),
        click.option(
            "--cache-dir",
            type=click.Path(file_okay=False, path_type=Path),
            envvar="ONBOARD_CACHE_DIR",
            help="Folder of the response cache (default: the user cache folder).",
        ),
        click.option("--no-cache", is_flag=True, help="Neither read nor write the response cache."),
        click.option(
            "--db",
            type=click.Path(dir_okay=False, path_type=Path),
            envvar="ONBOARD_DB",
            help="SQLite file of the generation log and eval store (default: the user data folder).",
        ),
        click.option("--no-log", is_flag=True, help="Do not record this run in the generation log."),
        click.option("-v", "--verbose", is_flag=True, help="Print attempts, tokens, cost and the log id on stderr."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _provider(opts: dict[str, Any], *, default: str | None = None, gate: Any = None) -> tuple[Any, str | None]:
    """Build the provider the options name, and the notice to print when it was chosen implicitly.

    ``default`` replaces the environment's default (an eval suite names its own); ``gate`` is a
    RateGate shared by every worker of an eval run.
    """
    recipe, notice = _recipe(opts, default=default)
    return recipe.build(gate), notice


def _recipe(opts: dict[str, Any], *, default: str | None = None) -> tuple[Any, str | None]:
    """The provider the options name as a recipe (plain data an eval worker process can rebuild)."""
    from onboard_llm.providers.base import ProviderRecipe, ProviderSpec, resolve_default_provider

    notice = None
    spec_text = opts.get("provider") or default
    if not spec_text:
        spec_text, reason = resolve_default_provider()
        notice = (
            f"onboard: {reason}; using the offline planner (no model or API key needed)"
            if spec_text == "offline"
            else f"onboard: {reason}; using {spec_text}"
        )
    spec = ProviderSpec.parse(spec_text)
    if opts.get("model"):
        spec = ProviderSpec(spec.name, opts["model"])
    extra = {"base_url": opts["base_url"]} if opts.get("base_url") else {}
    return ProviderRecipe(str(spec), max_retries=opts["max_retries"], timeout=opts["timeout"], options=extra), notice


def _stores(opts: dict[str, Any], provider: Any) -> tuple[Any, Any]:
    """The response cache and the generation log the options ask for (None when switched off)."""
    from onboard_llm.cache import ResponseCache
    from onboard_llm.genlog import GenerationLog

    cache = None
    if not opts.get("no_cache") and getattr(provider, "cacheable", True):
        cache = ResponseCache(opts.get("cache_dir"))
    log = None if opts.get("no_log") else GenerationLog(opts.get("db"))
    return cache, log


@cli.command()
@click.argument("notes", metavar="NOTES")
@context_options
@provider_options
@click.option(
    "--prompt",
    "prompt_ref",
    envvar="ONBOARD_PROMPT",
    default="roadmap@latest",
    show_default=True,
    help="Prompt as NAME@VERSION.",
)
@click.option("--format", "fmt", default="md", show_default=True, help="Output format: md, json, html, ics or csv.")
@click.option("--meeting-time", default="10:00", show_default=True, help="ICS: local time of meetings, HH:MM.")
@click.option("--tz", envvar="ONBOARD_TZ", default="UTC", show_default=True, help="ICS: the meetings' timezone.")
@click.option(
    "--audience",
    type=click.Choice(["internal", "customer"]),
    default="internal",
    show_default=True,
    help="Markdown only: 'customer' leaves out internal meetings, tasks, notes and candid risks.",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file instead of stdout."
)
@click.option(
    "--max-reasks",
    type=click.IntRange(0, 10),
    default=2,
    show_default=True,
    help="How many times to send validation errors back to the model.",
)
def plan(
    notes: str,
    prompt_ref: str,
    fmt: str,
    meeting_time: str,
    tz: str,
    audience: str,
    output: Path | None,
    max_reasks: int,
    **opts: Any,
) -> None:
    """Generate an onboarding plan from handoff NOTES (a file, or - for stdin)."""
    from onboard_llm.cli_progress import Spinner, describe_run
    from onboard_llm.exporters import export, formats
    from onboard_llm.pipeline import generate_plan

    fmt = fmt.lower()
    if fmt not in formats():
        raise BadInputError(f"unknown format '{fmt}' (available: {', '.join(formats())})")
    if output is not None and not output.parent.is_dir():
        # Before generating: a paid model call should not be thrown away for a typo in -o.
        raise BadInputError(f"cannot write {output}: folder {output.parent} does not exist")
    text, origin = _read_notes(notes)
    handoff = _handoff(text, origin, opts)
    # Check the prompt and provider before any notice, so a bad one is the only line on stderr.
    _registry(tuple(opts.get("prompts_dir") or ())).get(prompt_ref)
    provider, notice = _provider(opts)
    if notice:
        click.echo(notice, err=True)
    cache, log = _stores(opts, provider)
    with Spinner(f"{provider.name}:{provider.model}") as spinner:
        result = generate_plan(
            handoff,
            provider=provider,
            prompt=prompt_ref,
            max_reasks=max_reasks,
            holidays=opts.get("holidays"),
            prompts_dir=list(opts.get("prompts_dir") or ()),
            max_cost=opts.get("max_cost"),
            cache=cache,
            log=log,
            on_attempt=spinner.attempt,
        )
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if opts.get("verbose"):
        for line in describe_run(result):
            click.echo(line, err=True)
    options: dict[str, Any] = {} if fmt == "json" else {"audience": audience}
    if fmt == "ics":
        options |= {"meeting_time": meeting_time, "tz": tz}
    rendered = export(result.plan, fmt, **options)
    if output is not None:
        try:
            output.write_text(rendered, encoding="utf-8")
        except OSError as exc:
            raise BadInputError(f"cannot write {output}: {exc.strerror}") from None
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(rendered, nl=not rendered.endswith("\n"))


@cli.group(cls=OnboardGroup)
def providers() -> None:
    """The providers onboard can use."""


@providers.command("list")
def providers_list() -> None:
    """Each provider, its default model and whether its key is set (never the key)."""
    from onboard_llm.providers.base import available_providers

    rows = [("PROVIDER", "DEFAULT MODEL", "KEY", "DESCRIPTION")]
    for info in available_providers():
        state = info.key_is_set()
        key = "not needed" if state is None else f"{info.key_env} {'set' if state else 'not set'}"
        rows.append((info.name, info.default_model, key, info.description))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r[:3], widths, strict=True)) + "  " + r[3])


@providers.command("check")
@click.argument("specs", metavar="SPEC...", nargs=-1, required=True)
def providers_check(specs: tuple[str, ...]) -> None:
    """Exit 2, naming the variable, unless every SPEC's API key is set (for CI jobs, before spending)."""
    from onboard_llm.providers.base import ProviderSpec, available_providers

    infos = {info.name: info for info in available_providers()}
    missing: list[tuple[str, str]] = []
    for text in specs:
        spec = ProviderSpec.parse(text)
        info = infos.get(spec.name)
        if info is None:
            raise BadInputError(f"unknown provider '{spec.name}' (available: {', '.join(sorted(infos))})")
        state = info.key_is_set()
        if state is None:
            click.echo(f"{spec}: no key needed")
        elif state:
            click.echo(f"{spec}: {info.key_env} is set")
        else:
            missing.append((str(spec), str(info.key_env)))
    if missing:
        names = sorted({env for _, env in missing})
        verb = "is" if len(names) == 1 else "are"
        raise BadInputError(
            f"{', '.join(names)} {verb} not set (needed by {', '.join(spec for spec, _ in missing)}); "
            "in CI, add a repository secret of that name"
        )


@cli.command()
@click.argument("shape", type=click.Choice(["plan", "draft", "recovery"]), default="plan")
def schema(shape: str) -> None:
    """Print the JSON Schema of a dated plan, of the draft a model writes, or of a rescue plan."""
    from pydantic import BaseModel

    from onboard_llm.recovery_schema import RecoveryPlan
    from onboard_llm.schema import OnboardingPlan, PlanDraft
    from onboard_llm.schema_export import schema_file_text

    models: dict[str, type[BaseModel]] = {"plan": OnboardingPlan, "draft": PlanDraft, "recovery": RecoveryPlan}
    model = models[shape]
    click.echo(schema_file_text(model), nl=False)


@cli.group(cls=OnboardGroup)
def prompts() -> None:
    """List, show, render and compare versioned prompts."""


def _registry(prompts_dir: tuple[Path, ...]) -> Any:
    from onboard_llm.prompts import PromptRegistry

    return PromptRegistry(list(prompts_dir))


_prompts_dir_option = click.option(
    "--prompts-dir",
    "prompts_dir",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Extra folder of prompt templates (repeatable).",
)


@prompts.command("list")
@_prompts_dir_option
def prompts_list(prompts_dir: tuple[Path, ...]) -> None:
    """Every prompt version, newest last."""
    registry = _registry(prompts_dir)
    rows = [("PROMPT", "STATUS", "DATE", "SHA256", "SOURCE", "DESCRIPTION")]
    for v in registry.all():
        rows.append((v.ref, v.meta.status, v.meta.date.isoformat(), v.sha256[:12], v.source, v.meta.description[:60]))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r[:5], widths, strict=True)) + "  " + r[5])
    for problem in registry.check_locks():
        click.echo(f"warning: {problem}", err=True)


@prompts.command("show")
@click.argument("ref")
@_prompts_dir_option
def prompts_show(ref: str, prompts_dir: tuple[Path, ...]) -> None:
    """Metadata and templates of one version (NAME@VERSION)."""
    version = _registry(prompts_dir).get(ref)
    meta = version.meta
    click.echo(f"{version.ref}  ({meta.status}, {meta.date}, sha256 {version.sha256})")
    click.echo(f"source: {version.source}")
    click.echo(
        f"schema: {meta.schema_name} {meta.schema_version}; temperature {meta.temperature}; "
        f"max output tokens {meta.max_output_tokens}"
    )
    click.echo(f"description: {meta.description}")
    click.echo("changelog:")
    for line in meta.changelog:
        click.echo(f"  - {line}")
    for name, text in version.files().items():
        if name.endswith(".j2"):
            click.echo(f"\n--- {name} ---\n{text.rstrip()}")


@prompts.command("render")
@click.argument("ref")
@click.argument("notes")
@context_options
def prompts_render(ref: str, notes: str, **opts: Any) -> None:
    """Render a prompt version for NOTES and print the messages a model would get."""
    from onboard_llm.pipeline import render_request

    text, origin = _read_notes(notes)
    handoff = _handoff(text, origin, opts)
    rendered, _ = render_request(handoff, ref, registry=_registry(tuple(opts.get("prompts_dir") or ())))
    click.echo(f"# {rendered.ref} sha256 {rendered.sha256[:12]}")
    for message in rendered.messages:
        click.echo(f"\n=== {message.role} ===\n{message.content.rstrip()}")


@prompts.command("diff")
@click.argument("old")
@click.argument("new")
@_prompts_dir_option
def prompts_diff(old: str, new: str, prompts_dir: tuple[Path, ...]) -> None:
    """Unified diff between two versions' files."""
    diff = _registry(prompts_dir).diff(old, new)
    click.echo(diff or f"{old} and {new} have identical files", nl=not diff)


def _register_subcommands() -> None:
    from onboard_llm.cli_eval import eval_group
    from onboard_llm.cli_export import export
    from onboard_llm.cli_logs import logs
    from onboard_llm.cli_recover import emails_command, recover_command
    from onboard_llm.cli_track import reschedule_command, status_command

    cli.add_command(logs)
    cli.add_command(eval_group)
    cli.add_command(status_command, "status")
    cli.add_command(reschedule_command, "reschedule")
    cli.add_command(export, "export")
    cli.add_command(emails_command, "emails")
    cli.add_command(recover_command, "recover")


_register_subcommands()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    try:
        cli.main(args=argv, prog_name="onboard")
    except OnboardError as exc:  # raised outside a command, e.g. while loading the config
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)


__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_OK", "cli", "main"]
