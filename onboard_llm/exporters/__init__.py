"""Exporters: turn a dated ``OnboardingPlan`` into text in one format each.

Every exporter is a function ``(plan, **options) -> str`` registered under one
or more format names. A new format (html, ics, csv) is a module with such a
function plus one ``register`` call below; the CLI lists formats from
``EXPORTERS`` so nothing else changes.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from onboard_llm.errors import BadInputError
from onboard_llm.exporters.csvfmt import render_csv
from onboard_llm.exporters.html import render_html
from onboard_llm.exporters.ics import render_ics
from onboard_llm.exporters.jsonfmt import render_json
from onboard_llm.exporters.markdown import AUDIENCES, format_date, render_markdown
from onboard_llm.schema import OnboardingPlan

Exporter = Callable[..., str]

#: Format name (and aliases) → exporter. Add formats with :func:`register`.
EXPORTERS: dict[str, Exporter] = {}


def register(exporter: Exporter, *names: str) -> Exporter:
    """Register ``exporter`` under each of ``names`` (lower case); returns it unchanged."""
    for name in names:
        key = name.strip().lower()
        if key in EXPORTERS and EXPORTERS[key] is not exporter:
            raise ValueError(f"export format {key!r} is already registered")
        EXPORTERS[key] = exporter
    return exporter


register(render_markdown, "md", "markdown")
register(render_json, "json")
register(render_ics, "ics")
register(render_csv, "csv")
register(render_html, "html")


def formats() -> list[str]:
    """Every known format name, aliases included, sorted."""
    return sorted(EXPORTERS)


def export(plan: OnboardingPlan, fmt: str, **options: Any) -> str:
    """Render ``plan`` in format ``fmt``; options go to that format's exporter (e.g. ``audience``)."""
    exporter = EXPORTERS.get(fmt.strip().lower())
    if exporter is None:
        raise BadInputError(f"unknown export format {fmt!r}; known formats: {', '.join(formats())}")
    accepted = {
        name
        for name, param in inspect.signature(exporter).parameters.items()
        if param.kind is inspect.Parameter.KEYWORD_ONLY
    }
    unknown = sorted(set(options) - accepted)
    if unknown:
        # Dropping an option silently could, say, put internal notes in a "customer" export.
        takes = ", ".join(sorted(accepted)) or "no options"
        raise BadInputError(f"format {fmt!r} does not take {', '.join(unknown)} (it takes: {takes})")
    return exporter(plan, **options)


__all__ = [
    "AUDIENCES",
    "EXPORTERS",
    "Exporter",
    "export",
    "format_date",
    "formats",
    "register",
    "render_csv",
    "render_html",
    "render_ics",
    "render_json",
    "render_markdown",
]
