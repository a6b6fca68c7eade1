"""Time the work the toolkit adds around a model call, for one plan.

Measures render → parse (extract, repair, validate, domain rules) → schedule →
export (Markdown and JSON), with the model's answer prepared in advance (the
offline planner's answer for an example), so no provider time is included.

    python benchmarks/overhead.py [--runs N] [EXAMPLE]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from pathlib import Path

from onboard_llm.calendar import BusinessCalendar
from onboard_llm.exporters import export
from onboard_llm.inputs import build_handoff
from onboard_llm.parsing import parse_plan
from onboard_llm.pipeline import render_request
from onboard_llm.prompts import PromptRegistry
from onboard_llm.providers.offline import OfflineProvider
from onboard_llm.scheduling import schedule, timing_issues

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("example", nargs="?", default=str(ROOT / "examples/terse-bullets.md"))
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()

    handoff = build_handoff(Path(args.example).read_text(), today=dt.date(2026, 11, 23))
    registry = PromptRegistry()
    calendar = BusinessCalendar("US")
    _, request = render_request(handoff, registry=registry)
    answer = OfflineProvider().complete(request).text  # the "model output", prepared once

    stages: dict[str, list[float]] = {"render": [], "parse+validate": [], "schedule": [], "export": [], "total": []}
    for _ in range(args.runs):
        t0 = time.perf_counter()
        render_request(handoff, registry=registry)
        t1 = time.perf_counter()
        parsed = parse_plan(answer, source_text=handoff.source_text)
        assert parsed.ok and parsed.draft is not None, parsed.errors
        t2 = time.perf_counter()
        plan = schedule(parsed.draft, handoff.start_date, calendar)
        timing_issues(plan, calendar)
        t3 = time.perf_counter()
        export(plan, "md")
        export(plan, "json")
        t4 = time.perf_counter()
        for name, seconds in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0), strict=True):
            stages[name].append(seconds * 1000)

    print(f"{Path(args.example).name}: {len(answer):,} characters of model output, {args.runs} runs")
    print(f"{'stage':16} {'median ms':>10} {'p90 ms':>10}")
    for name, values in stages.items():
        p90 = statistics.quantiles(values, n=10)[-1]
        print(f"{name:16} {statistics.median(values):10.2f} {p90:10.2f}")


if __name__ == "__main__":
    main()
