"""``onboard eval``: run suites, list and explain runs, re-score stored outputs.

Exit codes: 0 the suite passes its thresholds, 1 it does not, 2 bad input,
4 provider failures left cases unscored (or the budget stopped the run).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from onboard_llm.cli import F, OnboardGroup, _recipe, provider_options
from onboard_llm.errors import BadInputError

EXIT_INCOMPLETE = 4


@click.group("eval", cls=OnboardGroup)
def eval_group() -> None:
    """Score prompt versions against golden plans."""


def _store(db: Path | None) -> Any:
    from onboard_llm.evals.store import EvalStore

    return EvalStore(db)


def _write(path: Path | None, text: str) -> None:
    if path is None:
        return
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BadInputError(f"cannot write {path}: {exc.strerror}") from None
    click.echo(f"wrote {path}", err=True)


def _print_results(run: Any, results: list[Any]) -> None:
    from onboard_llm.evals.reports import run_headline, summary_rows

    header, rows = summary_rows(results)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    click.echo(run_headline(run))


def _exit_code(run: Any) -> int:
    if run.totals.get("errors") or run.status in ("incomplete", "interrupted"):
        return EXIT_INCOMPLETE
    return 0 if run.totals.get("suite_passed") else 1


class _Bar:
    """A progress bar on stderr when it is a terminal: done/total, pass rate, errors, tokens, cost, ETA."""

    def __init__(self, total: int) -> None:
        import sys

        self.progress: Any = None
        if sys.stderr.isatty() and total:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.progress = Progress(
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[stats]}"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self.task = self.progress.add_task("eval", total=total, stats="")
            self.progress.start()

    def update(self, p: Any) -> None:
        if self.progress is None:
            return
        rate = f"{p.pass_rate:.0%}" if p.pass_rate is not None else "-"
        stats = f"pass {rate} · errors {p.errors} · tokens {p.input_tokens}/{p.output_tokens} · ${p.cost_usd:.4f}"
        self.progress.update(self.task, completed=p.done, stats=stats)

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def _dry_run(
    suite: Any,
    prompt: str,
    repeats: int | None,
    case_pattern: str | None,
    prompts_dir: list[Path],
    opts: dict[str, Any],
) -> None:
    """Print what a run would send and cost; builds no provider, so it needs no key."""
    from onboard_llm.evals.runner import dry_run
    from onboard_llm.providers.base import ProviderSpec, available_providers

    spec = ProviderSpec.parse(opts.get("provider") or suite.spec.providers[0])
    infos = {info.name: info for info in available_providers()}
    if spec.name not in infos:
        raise BadInputError(f"unknown provider '{spec.name}' (available: {', '.join(sorted(infos))})")
    model = opts.get("model") or spec.model or infos[spec.name].default_model
    rows = dry_run(
        suite,
        prompt=prompt,
        provider=spec.name,
        model=model,
        repeats=repeats,
        case_pattern=case_pattern,
        prompts_dir=prompts_dir,
    )
    total_cost = [r["cost_usd"] for r in rows if r["cost_usd"] is not None]
    for r in rows:
        cost = f"${r['cost_usd']:.4f}" if r["cost_usd"] is not None else "unknown"
        click.echo(
            f"{r['case']:32} {r['prompt']}  {r['messages']} messages  ~{r['input_tokens']} in / "
            f"~{r['output_tokens']} out  {cost}  x{r['repeats']}"
        )
    est = f"${sum(total_cost):.4f}" if len(total_cost) == len(rows) else "unknown (no price for this model)"
    click.echo(
        f"{len(rows)} cases, {spec.name}:{model}: ~{sum(r['input_tokens'] for r in rows)} input "
        f"and ~{sum(r['output_tokens'] for r in rows)} output tokens, estimated cost {est}; nothing was sent"
    )


def processes_option(func: F) -> F:
    """``--processes``, shared by ``eval run`` and ``eval regress``."""
    return click.option(
        "--processes",
        type=click.IntRange(1, 64),
        default=None,
        help="Processes sharing the cases (default: 1 per 16 cases in flight, at most 1 per core, "
        "1 for runs under 64 cases).",
    )(func)


def _run_options(suite: Any, opts: dict[str, Any], **fixed: Any) -> Callable[[str], Any]:
    """RunOptions for a prompt ref, with the provider the options name (or the suite's first).

    Every version run by one command shares one provider (so one 429 pause) and one cache.
    """
    from onboard_llm.cache import ResponseCache
    from onboard_llm.evals.runner import RunOptions
    from onboard_llm.providers.retry import RateGate

    recipe, _ = _recipe(opts, default=suite.spec.providers[0])
    provider = recipe.build(RateGate())
    cache = (
        None
        if opts.get("no_cache") or not getattr(provider, "cacheable", True)
        else ResponseCache(opts.get("cache_dir"))
    )

    def make(prompt: str) -> RunOptions:
        return RunOptions(
            prompt=prompt, provider=provider, recipe=recipe, cache=cache, max_cost=opts.get("max_cost"), **fixed
        )

    return make


@eval_group.command("run")
@click.argument("suite_path", metavar="SUITE", type=click.Path(dir_okay=False, path_type=Path))
@provider_options
@click.option("--prompt", "prompt_ref", help="Prompt as NAME@VERSION (default: the suite's first).")
@click.option("--concurrency", type=click.IntRange(1, 512), default=8, show_default=True, help="Cases in flight.")
@processes_option
@click.option("--repeats", type=click.IntRange(1, 50), help="Runs per case (default: the suite's).")
@click.option("--case", "case_pattern", help="Only the cases whose id matches this glob.")
@click.option("--max-reasks", type=click.IntRange(0, 10), default=2, show_default=True)
@click.option("--resume", "resume", metavar="RUN_ID", help="Run only what an earlier run is missing.")
@click.option("--dry-run", is_flag=True, help="Print the requests with estimated tokens and cost; call nobody.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Write a JSON report.")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False, path_type=Path), help="Write JUnit XML.")
@click.option("--md", "md_path", type=click.Path(dir_okay=False, path_type=Path), help="Write a Markdown summary.")
@click.option(
    "--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), help="Write a standalone HTML report."
)
@click.option("--prompts-dir", "prompts_dir", multiple=True, type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def eval_run(
    ctx: click.Context,
    /,
    suite_path: Path,
    prompt_ref: str | None,
    concurrency: int,
    processes: int | None,
    repeats: int | None,
    case_pattern: str | None,
    max_reasks: int,
    resume: str | None,
    dry_run: bool,
    json_path: Path | None,
    junit_path: Path | None,
    md_path: Path | None,
    html_path: Path | None,
    prompts_dir: tuple[Path, ...],
    **opts: Any,
) -> None:
    """Run SUITE (a YAML file) and print per-case scores and the run id."""
    from onboard_llm.evals.reports import to_json, to_junit, to_markdown
    from onboard_llm.evals.runner import SuiteRunner, settle_memory
    from onboard_llm.evals.suite import load_suite

    suite = load_suite(suite_path)
    settle_memory()
    if dry_run:
        _dry_run(suite, prompt_ref or suite.spec.prompts[0], repeats, case_pattern, list(prompts_dir), opts)
        return
    options = _run_options(
        suite,
        opts,
        processes=processes,
        concurrency=concurrency,
        repeats=repeats,
        case_pattern=case_pattern,
        max_reasks=max_reasks,
        prompts_dir=list(prompts_dir),
    )(prompt_ref or suite.spec.prompts[0])
    with _store(opts.get("db")) as store:
        runner = SuiteRunner(suite, options, store)
        bar = _Bar(0)
        first = True

        def progress(p: Any) -> None:
            nonlocal bar, first
            if first:
                bar, first = _Bar(p.total), False
            bar.update(p)

        try:
            run = asyncio.run(runner.run(resume=resume, on_progress=progress))
        except KeyboardInterrupt:
            bar.stop()
            latest = store.list_runs(suite.name, limit=1)
            hint = f"; resume with --resume {latest[0].id}" if latest else ""
            click.echo(f"interrupted: every finished case is kept{hint}", err=True)
            ctx.exit(130)
        bar.stop()
        results = store.results(run.id, outputs=False)
        if run.status == "interrupted":
            # Ctrl-C: the runner stopped its workers and kept every finished case.
            _print_results(run, results)
            click.echo(f"interrupted: {len(results)} results kept; resume with --resume {run.id}", err=True)
            ctx.exit(130)
        # The report files first: a reader that closes stdout early (| head) must not cost them.
        _write(json_path, to_json(run, results))
        _write(junit_path, to_junit(run, results))
        _write(md_path, to_markdown(run, results))
        if html_path is not None:
            from onboard_llm.evals.html_report import run_to_html
            from onboard_llm.evals.regress import trend

            _write(html_path, run_to_html(run, results, trend(store, run.suite_name)))
        _print_results(run, results)
    ctx.exit(_exit_code(run))


@eval_group.command("runs")
@click.option("--suite", "suite_name", help="Only runs of this suite.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), envvar="ONBOARD_DB")
def eval_runs(suite_name: str | None, limit: int, db: Path | None) -> None:
    """Stored runs, newest first."""
    with _store(db) as store:
        runs = store.list_runs(suite_name, limit=limit)
    if not runs:
        click.echo("no eval runs stored yet")
        return
    for run in runs:
        t = run.totals
        rate = f"{t['pass_rate']:.2f}" if t.get("pass_rate") is not None else "-"
        mean = f"{t['mean_total']:.3f}" if t.get("mean_total") is not None else "-"
        click.echo(
            f"{run.id}  {run.started_at}  {run.status:11} {run.suite_name}  {run.prompt_name}@{run.prompt_version}"
            f"  {run.provider}:{run.model}  scored {t.get('scored', 0)}/{t.get('expected', 0)}  pass {rate}  mean {mean}"
        )


@eval_group.command("show")
@click.argument("run_id", metavar="RUN")
@click.option("--case", "case_pattern", help="Only cases whose id matches this glob.")
@click.option("--failing", is_flag=True, help="Only cases that failed or errored.")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), envvar="ONBOARD_DB")
def eval_show(run_id: str, case_pattern: str | None, failing: bool, db: Path | None) -> None:
    """Per-case and per-field scores of a run, with the reasons."""
    import fnmatch

    from onboard_llm.evals.reports import explain, run_headline

    with _store(db) as store:
        run = store.get_run(run_id)
        if run is None:
            raise BadInputError(f"no eval run '{run_id}' in the store")
        results = [
            r
            for r in store.results(run.id, outputs=False)
            if not case_pattern or fnmatch.fnmatch(r.case_id, case_pattern)
        ]
    click.echo(run_headline(run))
    for line in explain(results, only_failing=failing):
        click.echo(line)


@eval_group.command("rescore")
@click.argument("run_id", metavar="RUN")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), envvar="ONBOARD_DB")
@click.pass_context
def eval_rescore(ctx: click.Context, run_id: str, db: Path | None) -> None:
    """Score a run's stored outputs again with the current scorers, calling no provider."""
    from onboard_llm.evals.runner import score_output, summarize
    from onboard_llm.evals.suite import load_suite
    from onboard_llm.schema import OnboardingPlan

    with _store(db) as store:
        run = store.get_run(run_id)
        if run is None:
            raise BadInputError(f"no eval run '{run_id}' in the store")
        suite = load_suite(run.suite_path)
        if suite.sha256 != run.suite_hash:
            click.echo(
                f"warning: suite {suite.path} changed since run {run.id}; scoring against its current goldens", err=True
            )
        from onboard_llm.evals.runner import build_scorers

        scorers = build_scorers(suite)
        cases = {c.id: c for c in suite.cases}
        changed = 0
        for result in store.results(run.id):
            if result.error is not None or result.case_id not in cases:
                continue
            plan = OnboardingPlan.model_validate(result.plan) if result.plan is not None else None
            scores, total, passed = score_output(cases[result.case_id], result.raw, plan, scorers)
            changed += total != result.total
            store.update_scores(run.id, result.case_id, result.repeat, [s.as_dict() for s in scores], total, passed)
        results = store.results(run.id)
        store.update_run(run.id, totals=summarize(results, run, suite))
        run = store.get_run(run.id)
        assert run is not None
    _print_results(run, results)
    click.echo(f"re-scored {len(results)} results; {changed} totals changed", err=True)
    ctx.exit(_exit_code(run))


def _comparison_html(store: Any, comparison: Any) -> str:
    """The HTML report of a comparison, with the trend of every stored run of its suite (the store must be open)."""
    from onboard_llm.evals.html_report import comparison_to_html
    from onboard_llm.evals.regress import trend

    return str(comparison_to_html(comparison, trend(store, comparison.baseline.suite_name)))


def _write_comparison_reports(comparison: Any, md_path: Path | None, junit_path: Path | None) -> None:
    from onboard_llm.evals.compare_reports import to_junit, to_markdown

    if md_path is not None:
        _write(md_path, to_markdown(comparison))
    if junit_path is not None:
        _write(junit_path, to_junit(comparison))


def _parse_gates(values: tuple[str, ...]) -> dict[str, float]:
    gates: dict[str, float] = {}
    for value in values:
        name, sep, margin = value.partition("=")
        try:
            gates[name.strip()] = float(margin)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise BadInputError(f"--gate {value!r}: expected METRIC=MARGIN, e.g. grounding=0.05")
    return gates


def comparison_options(func: F) -> F:
    """The verdict and report options shared by ``eval compare`` and ``eval regress``."""
    options = [
        click.option(
            "--margin",
            type=click.FloatRange(min=0.0),
            default=0.02,
            show_default=True,
            help="Smallest drop of the mean total that counts as a regression.",
        ),
        click.option(
            "--gate",
            "gate_values",
            multiple=True,
            metavar="METRIC=MARGIN",
            help="Also fail when this scorer (or scorer.subscore) drops beyond MARGIN (Holm-corrected).",
        ),
        click.option(
            "--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Write a JSON report."
        ),
        click.option(
            "--md", "md_path", type=click.Path(dir_okay=False, path_type=Path), help="Write a Markdown summary."
        ),
        click.option("--junit", "junit_path", type=click.Path(dir_okay=False, path_type=Path), help="Write JUnit XML."),
        click.option(
            "--html",
            "html_path",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Write a standalone HTML report (charts and the trend of every stored run of the suite).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@eval_group.command("compare")
@click.argument("baseline_id", metavar="BASELINE_RUN")
@click.argument("candidate_id", metavar="CANDIDATE_RUN")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), envvar="ONBOARD_DB")
@comparison_options
@click.pass_context
def eval_compare(
    ctx: click.Context,
    baseline_id: str,
    candidate_id: str,
    margin: float,
    gate_values: tuple[str, ...],
    db: Path | None,
    json_path: Path | None,
    md_path: Path | None,
    junit_path: Path | None,
    html_path: Path | None,
) -> None:
    """Compare CANDIDATE_RUN with BASELINE_RUN case by case; exit 1 on a regression."""
    from onboard_llm.evals.compare import compare_runs, render_text

    gates = _parse_gates(gate_values)
    with _store(db) as store:
        comparison = compare_runs(store, baseline_id, candidate_id, margin=margin, gates=gates or None)
        html = _comparison_html(store, comparison) if html_path is not None else ""
    # The report files first: a reader that closes stdout early (| head) must not cost them.
    _write(json_path, comparison.to_json())
    _write_comparison_reports(comparison, md_path, junit_path)
    _write(html_path, html)
    for line in render_text(comparison):
        click.echo(line)
    ctx.exit(1 if comparison.regressed else 0)


__all__ = ["eval_group"]


# -- regress and trend -------------------------------------------------------------------------------


@eval_group.command("regress")
@click.argument("suite_path", metavar="SUITE", type=click.Path(dir_okay=False, path_type=Path))
@provider_options
@click.option("--baseline", "baseline_ref", required=True, metavar="NAME@VERSION", help="The prompt to beat.")
@click.option("--candidate", "candidate_ref", required=True, metavar="NAME@VERSION", help="The prompt to check.")
@click.option("--repeats", type=click.IntRange(1, 50), help="Runs per case (default: the suite's).")
@click.option("--concurrency", type=click.IntRange(1, 512), default=8, show_default=True, help="Cases in flight.")
@processes_option
@click.option("--max-reasks", type=click.IntRange(0, 10), default=2, show_default=True)
@comparison_options
@click.option("--prompts-dir", "prompts_dir", multiple=True, type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def eval_regress(
    ctx: click.Context,
    /,
    suite_path: Path,
    baseline_ref: str,
    candidate_ref: str,
    repeats: int | None,
    concurrency: int,
    processes: int | None,
    max_reasks: int,
    margin: float,
    gate_values: tuple[str, ...],
    json_path: Path | None,
    md_path: Path | None,
    junit_path: Path | None,
    html_path: Path | None,
    prompts_dir: tuple[Path, ...],
    **opts: Any,
) -> None:
    """Run (or reuse) SUITE for two prompt versions and compare them; exit 1 on a regression.

    A stored run with the same suite, prompt files, provider, model and parameters is
    reused when complete and resumed when not, so only what is missing runs.
    """
    from onboard_llm.evals.compare import render_text
    from onboard_llm.evals.regress import regress
    from onboard_llm.evals.runner import settle_memory
    from onboard_llm.evals.suite import load_suite

    gates = _parse_gates(gate_values)
    suite = load_suite(suite_path)
    settle_memory()
    options_for = _run_options(
        suite,
        opts,
        processes=processes,
        concurrency=concurrency,
        repeats=repeats,
        max_reasks=max_reasks,
        prompts_dir=list(prompts_dir),
    )

    ensured: list[Any] = []

    def report(role: str, run: Any, action: str) -> None:
        ensured.append(run)
        t = run.totals
        click.echo(
            f"{role}: {run.prompt_name}@{run.prompt_version} {action} run {run.id} [{run.status}] "
            f"scored {t.get('scored', 0)}/{t.get('expected', 0)}"
        )

    def incomplete() -> bool:
        return any(r.totals.get("errors") or r.status in ("incomplete", "interrupted") for r in ensured)

    with _store(opts.get("db")) as store:
        try:
            _, _, comparison = regress(
                suite,
                baseline_ref,
                candidate_ref,
                options_for,
                store,
                margin=margin,
                gates=gates or None,
                on_ensured=report,
            )
        except KeyboardInterrupt:
            click.echo("interrupted: every finished case is kept; run regress again to resume", err=True)
            ctx.exit(130)
        except BadInputError as exc:
            if len(ensured) == 2 and incomplete():
                # Nothing to compare because the provider failed: that is exit 4, not bad input.
                click.echo(f"error: {exc}", err=True)
                ctx.exit(EXIT_INCOMPLETE)
            raise
        html = _comparison_html(store, comparison) if html_path is not None else ""
    _write(json_path, comparison.to_json())
    _write_comparison_reports(comparison, md_path, junit_path)
    _write(html_path, html)
    for line in render_text(comparison):
        click.echo(line)
    if incomplete():
        click.echo("warning: provider failures left cases unscored; run regress again to resume", err=True)
        ctx.exit(EXIT_INCOMPLETE)
    ctx.exit(1 if comparison.regressed else 0)


@eval_group.command("trend")
@click.argument("suite", metavar="SUITE")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), envvar="ONBOARD_DB")
def eval_trend(suite: str, db: Path | None) -> None:
    """Each prompt version's mean total over time on SUITE (a suite name or file), from the store."""
    from onboard_llm.evals.regress import render_trend, trend

    name = suite
    if suite.endswith((".yaml", ".yml")) or Path(suite).is_file():
        from onboard_llm.evals.suite import load_suite

        name = load_suite(Path(suite)).name
    with _store(db) as store:
        trends = trend(store, name)
    if not trends:
        click.echo(f"no eval runs of suite '{name}' stored yet")
        return
    click.echo(f"suite {name}: mean total per run, oldest first (▁ 0 … █ 1)")
    for line in render_trend(trends):
        click.echo(line)
