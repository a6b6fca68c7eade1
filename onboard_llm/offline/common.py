"""Small formatting helpers and constants shared by the offline planner's modules."""

from __future__ import annotations

import re

KICKOFF_DAY = 3
IDENTITY_TOOLS = (
    "okta",
    "entra",
    "azure ad",
    "active directory",
    "google sign-in",
    "google workspace",
    "onelogin",
    "ping",
)


def fmt_number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


def fmt_amount(value: float, unit: str) -> str:
    if unit == "USD":
        return f"${fmt_number(value)}"
    if unit.startswith("%"):
        return f"{fmt_number(value)}{unit}"
    return f"{fmt_number(value)} {unit}"


def shorten(text: str, limit: int = 90) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def slugify(text: str, limit: int = 18) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "item"
