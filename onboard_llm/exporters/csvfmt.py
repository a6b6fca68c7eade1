"""CSV export of a dated plan: one row per task and milestone, for import into Asana, Jira or Rocketlane.

Columns are fixed (``COLUMNS``); dates are ISO 8601; several names in one cell
are joined with ``" | "`` (not ``;``: generated names such as "Kickoff held; outcomes
confirmed" contain semicolons). The ``milestone`` column of a milestone row is its own
name, and of a task row the milestones that task leads to (those that depend on
it): that is the grouping import tools call a task's milestone or epic, while
what the task itself waits on is in ``depends_on``.

A text cell that a spreadsheet would read as a formula (it starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return) gets a leading ``'``: the
text comes from a model's answer, and a cell such as
``=HYPERLINK("http://...")`` must not run when the file is opened in Excel or
Sheets, which show the text without the quote.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from onboard_llm.errors import BadInputError
from onboard_llm.exporters.markdown import AUDIENCES, Audience, _who
from onboard_llm.schema import DatedMilestone, DatedPhase, DatedTask, OnboardingPlan

COLUMNS: tuple[str, ...] = (
    "title",
    "description",
    "owner",
    "due_date",
    "phase",
    "milestone",
    "customer_visible",
    "depends_on",
    "type",
)
SEPARATOR = " | "


def render_csv(plan: OnboardingPlan, *, audience: Audience = "internal") -> str:
    """Render ``plan``'s tasks and milestones as CSV with a header row, for the given audience."""
    if audience not in AUDIENCES:
        raise BadInputError(f"unknown audience {audience!r}; choose one of: {', '.join(AUDIENCES)}")
    internal = audience == "internal"
    items: list[tuple[int, DatedPhase, DatedTask | DatedMilestone]] = []
    for number, phase in enumerate(plan.phases):
        phase_items: list[DatedTask | DatedMilestone] = [*phase.tasks, *phase.milestones]
        items += [(number, phase, item) for item in phase_items if internal or item.customer_visible]
    # A customer file must not name an internal item, so it drops links to them; an internal
    # file keeps an unknown id as written rather than hide a broken link.
    names = {item.id: _name(item) for _, _, item in items}
    leads_to: dict[str, list[str]] = {}
    for _, _, item in items:
        if isinstance(item, DatedMilestone):
            for dep in item.depends_on:
                leads_to.setdefault(dep, []).append(item.name)

    out = io.StringIO()
    # "\n" rather than csv's "\r\n": the CLI writes text, and every importer reads both.
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    # Tasks before the milestones they lead to on the same day, phase by phase.
    for _, phase, item in sorted(items, key=lambda row: (row[0], row[2].date, isinstance(row[2], DatedMilestone))):
        is_milestone = isinstance(item, DatedMilestone)
        writer.writerow(
            (
                _text(_name(item)),
                _text(item.success_check if isinstance(item, DatedMilestone) else ""),
                _text(_who(item.owner)),
                item.date.isoformat(),
                _text(phase.name),
                _text(item.name if isinstance(item, DatedMilestone) else _join(leads_to.get(item.id, []))),
                "true" if item.customer_visible else "false",
                _text(_join(names.get(dep, dep) for dep in item.depends_on if internal or dep in names)),
                "milestone" if is_milestone else "task",
            )
        )
    return out.getvalue()


def _name(item: DatedTask | DatedMilestone) -> str:
    return item.name if isinstance(item, DatedMilestone) else item.title


#: What a spreadsheet takes for the start of a formula (OWASP's list for CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    """A text cell that no spreadsheet runs as a formula."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _join(values: Iterable[str]) -> str:
    return SEPARATOR.join(dict.fromkeys(values))  # de-duplicated, order kept


__all__ = ["COLUMNS", "SEPARATOR", "render_csv"]
