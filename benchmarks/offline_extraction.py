"""How well the offline planner reads notes it was not written against.

For every folder under the given roots (default: tests/data/unseen and
tests/data/unseen2) with notes.md and a hand-written expected.yaml, prints
whether the plan validated on the first answer, the company and start date
it found, and recall/precision of people and integrations.

    python benchmarks/offline_extraction.py [ROOT ...]
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import yaml

from onboard_llm.errors import OnboardError
from onboard_llm.inputs import build_handoff
from onboard_llm.offline.extract import read_notes
from onboard_llm.pipeline import generate_plan

TODAY = dt.date(2026, 11, 23)
ROOT = Path(__file__).resolve().parent.parent


def _ratio(hit: int, total: int) -> str:
    return f"{hit}/{total}" if total else "-"


def main(roots: list[Path]) -> None:
    totals = {"valid": 0, "cases": 0, "company": 0, "start": 0, "start_cases": 0}
    sums = {"people_hit": 0, "people_want": 0, "people_got": 0, "tools_hit": 0, "tools_want": 0, "tools_got": 0}
    print(
        f"{'case':40} {'valid':5} {'company':8} {'start':6} {'people R':9} {'people P':9} {'tools R':8} {'tools P':8}"
    )
    for root in roots:
        for folder in sorted(p for p in root.iterdir() if (p / "expected.yaml").is_file()):
            expected = yaml.safe_load((folder / "expected.yaml").read_text())
            handoff = build_handoff((folder / "notes.md").read_text(), today=TODAY)
            facts = read_notes(handoff)
            try:
                result = generate_plan(handoff, provider="offline", max_reasks=0)
                valid = True
                people = {s.name.replace("Dr. ", "") for s in result.plan.stakeholders}
            except OnboardError:
                valid = False
                people = {p.name.replace("Dr. ", "") for p in facts.people}
            want_people = {p["name"] for p in expected["people"]}
            tools = {t.name for t in facts.tools} | set(facts.competitors)
            want_tools = set(expected["integrations"])
            company_ok = facts.company == expected["company"]
            start_ok = expected["start_date"] is not None and handoff.context.start_date == dt.date.fromisoformat(
                str(expected["start_date"])
            )
            totals["cases"] += 1
            totals["valid"] += valid
            totals["company"] += company_ok
            totals["start_cases"] += expected["start_date"] is not None
            totals["start"] += start_ok
            sums["people_hit"] += len(people & want_people)
            sums["people_want"] += len(want_people)
            sums["people_got"] += len(people)
            sums["tools_hit"] += len(tools & want_tools)
            sums["tools_want"] += len(want_tools)
            sums["tools_got"] += len(tools)
            print(
                f"{root.name + '/' + folder.name:40} {'yes' if valid else 'NO':5} {'ok' if company_ok else 'miss':8} "
                f"{('ok' if start_ok else 'miss') if expected['start_date'] else '-':6} "
                f"{_ratio(len(people & want_people), len(want_people)):9} {_ratio(len(people & want_people), len(people)):9} "
                f"{_ratio(len(tools & want_tools), len(want_tools)):8} {_ratio(len(tools & want_tools), len(tools)):8}"
            )
    print(
        f"\nvalid on first answer {totals['valid']}/{totals['cases']}; company {totals['company']}/{totals['cases']}; "
        f"start date {totals['start']}/{totals['start_cases']}; "
        f"people recall {sums['people_hit']}/{sums['people_want']}, precision {sums['people_hit']}/{sums['people_got']}; "
        f"integrations recall {sums['tools_hit']}/{sums['tools_want']}, precision {sums['tools_hit']}/{sums['tools_got']}"
    )


if __name__ == "__main__":
    args = [Path(a) for a in sys.argv[1:]] or [ROOT / "tests/data/unseen", ROOT / "tests/data/unseen2"]
    main(args)
