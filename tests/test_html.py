"""Tests for onboard_llm.exporters.html: the standalone HTML one-pager.

Plans come from the real pipeline (offline provider) on every shipped example.
The page is read back with the stdlib HTML parser; a last test renders each page
in headless Chromium (skipped when it is not installed) and checks that the
screenshot shows the timeline's phase bars.
"""

from __future__ import annotations

import datetime as dt
import shutil
import struct
import subprocess
import zlib
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from onboard_llm.errors import BadInputError
from onboard_llm.exporters import export, formats, render_html
from onboard_llm.exporters.html import _PHASE_COLOURS
from onboard_llm.inputs import build_handoff
from onboard_llm.pipeline import generate_plan
from onboard_llm.schema import OnboardingPlan

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TODAY = dt.date(2026, 11, 23)
EXAMPLE_FILES = sorted(p.name for p in [*EXAMPLES.glob("*.md"), EXAMPLES / "crm-export.txt"])
CONTEXT_FILES = {"forwarded-email.md": EXAMPLES / "forwarded-email.context.yaml"}

_CACHE: dict[str, OnboardingPlan] = {}


def example_plan(name: str) -> OnboardingPlan:
    if name not in _CACHE:
        text = (EXAMPLES / name).read_text(encoding="utf-8")
        handoff = build_handoff(text, context_file=CONTEXT_FILES.get(name), today=TODAY)
        _CACHE[name] = generate_plan(handoff, provider="offline").plan
    return _CACHE[name]


@pytest.fixture(params=EXAMPLE_FILES)
def plan(request: pytest.FixtureRequest) -> OnboardingPlan:
    return example_plan(request.param)


@pytest.fixture
def terse() -> OnboardingPlan:
    return example_plan("terse-bullets.md")


def altered(plan: OnboardingPlan, change: Callable[[dict[str, Any]], object]) -> OnboardingPlan:
    data = plan.model_dump(mode="json")
    change(data)
    return OnboardingPlan.model_validate(data)


# -- reading the page back ------------------------------------------------------

_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
)
# Optional end tags the page never omits anyway; leaving them out is still valid HTML.
_SVG_SELF_CLOSING = frozenset({"rect", "line", "polyline", "polygon", "circle", "path"})


class Page(HTMLParser):
    """Tags, attributes and text of an HTML document, with a nesting check."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text_parts: list[str] = []
        self.timeline_text: list[str] = []
        self.in_timeline = 0
        self.feed(source)
        self.close()
        if self.stack:
            self.errors.append(f"unclosed: {self.stack}")

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())

    def ids(self) -> set[str]:
        return {str(a["id"]) for _, a in self.tags if a.get("id")}

    def count(self, tag: str) -> int:
        return sum(1 for t, _ in self.tags if t == tag)

    def find(self, tag: str, cls: str | None = None) -> list[dict[str, str | None]]:
        """The attributes of every ``tag`` (with ``cls`` among its classes, when given)."""
        return [a for t, a in self.tags if t == tag and (cls is None or cls in (a.get("class") or "").split())]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in _VOID:
            return
        if self.in_timeline:
            self.in_timeline += 1
        elif dict(attrs).get("data-testid") == "timeline":
            self.in_timeline = 1
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in _VOID and tag not in _SVG_SELF_CLOSING:
            self.errors.append(f"self-closing <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()
        if self.in_timeline:
            self.in_timeline -= 1

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] in ("style", "title") and "svg" not in self.stack:
            return
        self.text_parts.append(data)
        if self.in_timeline:
            self.timeline_text.append(data)


def html_of(plan: OnboardingPlan, audience: str = "internal") -> tuple[str, Page]:
    source = export(plan, "html", audience=audience)
    return source, Page(source)


# -- the page from every example ------------------------------------------------


@pytest.mark.parametrize("audience", ["internal", "customer"])
def test_well_formed_with_sections(plan: OnboardingPlan, audience: str) -> None:
    source, page = html_of(plan, audience)
    assert source.startswith("<!DOCTYPE html>")
    assert page.errors == []
    assert page.count("html") == page.count("head") == page.count("body") == page.count("main") == 1
    assert page.count("h1") == 1
    assert page.count("meta") >= 1 and 'charset="utf-8"' in source
    expected = {"goal", "timeline", "metrics", "goals", "raci", "meetings", "risks"}
    if plan.stakeholders:
        expected.add("stakeholders")
    if plan.open_questions:
        expected.add("open-questions")
    assert expected <= page.ids()
    timeline = [a for t, a in page.tags if a.get("data-testid") == "timeline"]
    assert len(timeline) == 1 and timeline[0].get("id") == "timeline"
    assert page.count("svg") == 1


@pytest.mark.parametrize("audience", ["internal", "customer"])
def test_standalone_no_external_resources(plan: OnboardingPlan, audience: str) -> None:
    source, page = html_of(plan, audience)
    for tag, attrs in page.tags:
        for name in ("src", "href", "xlink:href", "action", "srcset", "poster", "data"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//")), f"<{tag} {name}={value!r}>"
    assert page.count("script") == 0 and page.count("link") == 0 and page.count("iframe") == 0
    assert "@import" not in source and "url(" not in source and "@font-face" not in source
    assert "http://" not in source and "https://" not in source


@pytest.mark.parametrize("audience", ["internal", "customer"])
def test_shows_company_phases_and_visible_milestones(plan: OnboardingPlan, audience: str) -> None:
    _, page = html_of(plan, audience)
    text = page.text
    assert plan.customer.company in text
    assert plan.primary_goal in text
    timeline = " ".join(page.timeline_text)
    for phase in plan.phases:
        assert phase.name in text
        # The full name is the bar's tooltip even when the bar's label is clipped.
        assert phase.name in timeline
    for milestone in plan.all_milestones():
        if milestone.customer_visible:
            assert " ".join(milestone.name.split()) in text
    for metric in plan.success_metrics:
        assert metric.name in text


def test_timeline_draws_every_item(plan: OnboardingPlan) -> None:
    _, page = html_of(plan)
    milestones = plan.all_milestones()
    assert page.count("polygon") == len(milestones)  # one diamond each
    reviews = [m for m in plan.meetings if m.kind in {"review_30", "review_60", "review_90", "executive_review"}]
    assert page.count("circle") == sum(len(m.occurrence_days()) for m in reviews) >= 3
    last = max(p.end_day for p in plan.phases)
    ticks = sum(len([d for d in m.occurrence_days() if d <= last]) for m in plan.meetings if m not in reviews)
    # Recurring sessions are small <line> ticks; one-off meetings are <rect> marks (beside the phase bars).
    recurring = sum(
        len([d for d in m.occurrence_days() if d <= last])
        for m in plan.meetings
        if m not in reviews and len(m.occurrence_days()) > 1
    )
    assert ticks > recurring > 0
    timeline = " ".join(page.timeline_text)
    assert f"day {last}" in timeline
    assert "Day-30 review" in timeline


def test_does_not_depend_on_today(terse: OnboardingPlan) -> None:
    later = terse.model_copy(deep=True)
    assert render_html(terse) == render_html(later)
    assert 'data-testid="timeline"' in render_html(terse)


# -- escaping ---------------------------------------------------------------------

_EVIL = '<script>alert("x")</script>'


def test_plan_text_is_escaped(terse: OnboardingPlan) -> None:
    def change(data: dict[str, Any]) -> None:
        data["primary_goal"] = f"Go live {_EVIL}"
        data["customer"]["company"] = 'Acme & <b>Sons</b> "Ltd"'
        data["phases"][0]["name"] = f"Setup {_EVIL}"
        data["phases"][0]["milestones"][0]["name"] = '<img src="https://evil.example/x.png" onerror="alert(1)">'
        data["meetings"][0]["title"] = f"Handoff {_EVIL}"
        data["risks"][0]["risk"] = f"Risk {_EVIL}"
        data["internal_notes"].append(f"Note {_EVIL}")

    plan = altered(terse, change)
    source = render_html(plan)
    page = Page(source)
    assert page.errors == []
    assert "<script" not in source.lower()
    assert "<img" not in source.lower() and "<b>Sons" not in source
    assert page.count("script") == page.count("img") == 0
    assert "&lt;script&gt;" in source
    assert page.text.count(_EVIL) >= 5
    assert 'Acme & <b>Sons</b> "Ltd"' in page.text
    # The external URL survives only as escaped text, never as an attribute.
    assert all("evil" not in (v or "") for _, attrs in page.tags for v in attrs.values())


# -- audience ---------------------------------------------------------------------


def test_customer_audience_leaves_out_internal_items(terse: OnboardingPlan) -> None:
    def change(data: dict[str, Any]) -> None:
        data["phases"][1]["milestones"][0]["customer_visible"] = False
        data["phases"][1]["milestones"][0]["name"] = "Renewal risk review with sales"
        data["expansion_signals"] = ["Wants a second region next year"]

    plan = altered(terse, change)
    internal = Page(render_html(plan)).text
    customer = Page(render_html(plan, audience="customer")).text

    hidden_meetings = [m.title for m in plan.meetings if not m.customer_visible]
    hidden_tasks = [t.title for t in plan.all_tasks() if not t.customer_visible]
    hidden_risks = [r.risk for r in plan.risks if not r.customer_visible]
    assert hidden_meetings and hidden_tasks and hidden_risks and plan.internal_notes and plan.outcome_brief.promises
    hidden = [
        *hidden_meetings,
        *hidden_tasks,
        *hidden_risks,
        *plan.internal_notes,
        *plan.outcome_brief.promises,
        "Renewal risk review with sales",
        "Wants a second region next year",
    ]
    for item in hidden:
        text = " ".join(item.split())
        assert text in internal, text
        # Open questions may quote the notes that a hidden risk came from: the planner's call, as in Markdown.
        assert text not in customer.split("Open questions")[0], text
    for note in plan.internal_notes:
        assert " ".join(note.split()) not in customer
    customer_source = render_html(plan, audience="customer")
    assert 'class="badge"' not in customer_source and 'id="internal"' not in customer_source
    assert "Your goals" in customer and "Stated goals" in internal


def test_customer_timeline_omits_internal_meeting(terse: OnboardingPlan) -> None:
    _, internal = html_of(terse)
    _, customer = html_of(terse, "customer")
    assert "Internal account sync" in " ".join(internal.timeline_text)
    assert "Internal account sync" not in " ".join(customer.timeline_text)
    assert customer.count("line") < internal.count("line")


def test_audience_and_options_are_checked(terse: OnboardingPlan) -> None:
    assert "html" in formats()
    with pytest.raises(BadInputError, match="audience"):
        export(terse, "html", audience="board")
    with pytest.raises(BadInputError, match="does not take"):
        export(terse, "html", theme="dark")
    assert 'data-audience="customer"' in export(terse, "HTML", audience="customer")


def test_print_styles(terse: OnboardingPlan) -> None:
    source = render_html(terse)
    assert "@media print" in source and "@page" in source
    assert '<html lang="en"' in source


# -- headless Chromium -----------------------------------------------------------


def chromium_screenshot(source: str, folder: Path, name: str, height: int) -> bytes:
    """The page ``source`` rendered by headless Chromium at 1280 x ``height``, as PNG bytes."""
    chromium = _chromium()
    page, shot = folder / f"{name}.html", folder / f"{name}.png"
    page.write_text(source, encoding="utf-8")
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={folder / 'profile'}",
        f"--screenshot={shot}",
        f"--window-size=1280,{height}",
        page.as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert shot.exists(), f"no screenshot (exit {result.returncode}): {result.stderr[-800:]}"
    return shot.read_bytes()


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and Path("/usr/bin/chromium").exists():
        found = "/usr/bin/chromium"
    if found is None:
        pytest.skip("Chromium not installed")
    return found


def _png_pixels(data: bytes) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """Decode an 8-bit, non-interlaced RGB or RGBA PNG into a (height, width, channels) array."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    width = height = channels = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, 1 + width * channels)
    out = np.zeros((height, width * channels), dtype=np.uint8)
    prev = np.zeros(width * channels, dtype=np.uint8)
    for y in range(height):
        kind, line = raw[y, 0], raw[y, 1:]
        if kind == 0:
            row = line.copy()
        elif kind == 2:
            row = line + prev
        elif kind == 1:  # Sub: a running sum per channel
            row = np.cumsum(line.reshape(width, channels), axis=0, dtype=np.uint64).astype(np.uint8).reshape(-1)
        else:  # Average and Paeth depend on the decoded left byte: byte by byte
            cur, up = bytearray(line.tobytes()), prev.tobytes()
            for i in range(len(cur)):
                a = cur[i - channels] if i >= channels else 0
                b = up[i]
                if kind == 3:
                    cur[i] = (cur[i] + (a + b) // 2) & 0xFF
                else:
                    c = up[i - channels] if i >= channels else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                    cur[i] = (cur[i] + pred) & 0xFF
            row = np.frombuffer(bytes(cur), dtype=np.uint8)
        out[y] = row
        prev = row
    return out.reshape(height, width, channels)


def _pixels_near(pixels: np.ndarray[Any, np.dtype[np.uint8]], hex_colour: str, tolerance: int = 4) -> int:
    target = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)
    diff = np.abs(pixels[:, :, :3].astype(np.int16) - target).max(axis=2)
    return int((diff <= tolerance).sum())


@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_screenshot_in_headless_chromium_shows_timeline(name: str, tmp_path: Path) -> None:
    plan = example_plan(name)
    data = chromium_screenshot(render_html(plan), tmp_path, Path(name).stem, 2000)
    assert len(data) > 10_000
    pixels = _png_pixels(data)
    assert pixels.shape[:2] == (2000, 1280)
    top = pixels[:600, :, :3]
    assert int(top.max()) - int(top.min()) > 100, "the top of the page is blank"
    # The phase bars are drawn in colours used nowhere else but the timeline (and the legend swatch).
    for i, _phase in enumerate(plan.phases[: len(_PHASE_COLOURS)]):
        colour = _PHASE_COLOURS[i]
        assert _pixels_near(pixels, colour) > 1_500, f"phase bar {i + 1} ({colour}) is not on the screenshot"
    # Milestone diamonds and review dots.
    assert _pixels_near(pixels, "#d2462f") > 200
