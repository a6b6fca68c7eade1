"""Standalone HTML reports: one eval run, or a comparison of two runs, as a single page.

The page opens offline and in a CI artifact viewer alike: inline CSS and inline SVG, no
scripts, no fonts or images fetched from anywhere. Case ids, prompt names and scorer
details come from suites and models, so every one of them is HTML-escaped.

The charts are three small SVG builders shared by both pages: a horizontal bar chart
(one bar per case), a heatmap (case x scorer / sub-score) and a line chart (mean total
of each prompt version over the stored runs of the suite).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from onboard_llm.evals.compare import IMPROVEMENT, TOTAL, Comparison, MetricDelta, WorseCase
from onboard_llm.evals.compare import _metric_values as metric_values
from onboard_llm.evals.compare_reports import _p as fmt_p
from onboard_llm.evals.compare_reports import _signed as signed
from onboard_llm.evals.reports import explain
from onboard_llm.evals.store import CaseResult, RunInfo

if TYPE_CHECKING:
    from onboard_llm.evals.regress import VersionTrend

#: Bars below zero (and failing totals), bars above zero (and passing totals), bars at zero.
NEGATIVE = "#d1495b"
POSITIVE = "#2a9d60"
NEUTRAL = "#9aa5b1"
#: One colour per prompt version in the trend chart, in order.
PALETTE = ("#3b6fb6", "#e8871e", "#8e5bb5", "#1b998b", "#c23b80", "#7a8b2c", "#5d6d7e", "#b5651d")
MISSING = "#e9ecef"
#: How many worse pairs (comparison) or failing cases (run) the page lists.
MAX_CASES = 20
MAX_DETAILS = 8
LABEL_CHARS = 36
#: Heatmap column labels are rotated this many degrees.
ANGLE = 60


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _clip(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _label_width(labels: Sequence[str], size: float = 12.0) -> int:
    longest = max((len(_clip(label)) for label in labels), default=4)
    return int(longest * size * 0.6) + 14


def _n(value: float) -> str:
    """A coordinate, short."""
    return f"{value:.1f}".removesuffix(".0")


# -- colour -------------------------------------------------------------------------------------------


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _mix(a: str, b: str, t: float) -> str:
    ra, ga, ba = _rgb(a)
    rb, gb, bb = _rgb(b)
    return "#{:02x}{:02x}{:02x}".format(*(round(x + (y - x) * t) for x, y in ((ra, rb), (ga, gb), (ba, bb))))


def _ink(fill: str) -> str:
    """Dark text on light cells, white on dark ones."""
    r, g, b = _rgb(fill)
    return "#ffffff" if (0.299 * r + 0.587 * g + 0.114 * b) / 255 < 0.55 else "#1b1f24"


@dataclass(frozen=True)
class Scale:
    """A colour ramp through (value, colour) stops, clamped at both ends."""

    stops: tuple[tuple[float, str], ...]

    @property
    def low(self) -> float:
        return self.stops[0][0]

    @property
    def high(self) -> float:
        return self.stops[-1][0]

    def colour(self, value: float) -> str:
        value = min(max(value, self.low), self.high)
        for (v0, c0), (v1, c1) in zip(self.stops, self.stops[1:], strict=False):
            if value <= v1:
                return _mix(c0, c1, 0.0 if v1 == v0 else (value - v0) / (v1 - v0))
        return self.stops[-1][1]


def diverging(limit: float) -> Scale:
    """Red below zero, white at zero, green above, saturated at +-limit."""
    return Scale(((-limit, "#b2182b"), (0.0, "#f7f7f7"), (limit, "#1a7f4b")))


SEQUENTIAL = Scale(((0.0, "#f7fbff"), (0.5, "#6baed6"), (1.0, "#08306b")))


def _symmetric_limit(values: Sequence[float], floor: float = 0.05) -> float:
    """The smallest multiple of 0.05 that covers every value's size (at least ``floor``)."""
    largest = max((abs(v) for v in values), default=0.0)
    return max(floor, math.ceil(largest / 0.05 - 1e-9) * 0.05)


def _short_signed(value: float) -> str:
    """A delta in a heatmap cell: two decimals, no leading zero, "0" when it rounds to nothing."""
    text = f"{value:+.2f}"
    if text in ("+0.00", "-0.00"):
        return "0"
    return text.replace("0.", ".", 1).replace("-", "\u2212")


def _short(value: float) -> str:
    text = f"{value:.2f}"
    return text[1:] if text.startswith("0.") else text


# -- SVG pieces ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    """One row of a bar chart; ``value`` None draws no bar (an errored case)."""

    label: str
    value: float | None
    colour: str
    tooltip: str
    note: str = ""  # shown in the value column instead of the value
    mark: float | None = None  # a per-row reference tick, e.g. a case's own threshold


def bar_chart(
    bars: Sequence[Bar],
    *,
    low: float,
    high: float,
    fmt: Callable[[float], str],
    reference: float | None = None,
    reference_label: str = "",
) -> str:
    """Horizontal bars from zero (or ``low``) to each value, labelled on the left, with an axis below."""
    label_w, plot_w, value_w = _label_width([b.label for b in bars]), 480, 70
    top, row_h, bar_h = 26, 20, 13
    bottom = top + row_h * len(bars)
    width, height = label_w + plot_w + value_w, bottom + 30

    def x(value: float) -> float:
        return label_w + (min(max(value, low), high) - low) / (high - low) * plot_w

    origin = x(0.0) if low <= 0.0 <= high else x(low)
    out = [_svg_open(width, height, "bar chart")]
    for i in range(5):
        tick = low + (high - low) * i / 4
        tx = _n(x(tick))
        out.append(f'<line x1="{tx}" y1="{top - 4}" x2="{tx}" y2="{bottom}" stroke="#e3e6ea"/>')
        out.append(f'<text class="tick" x="{tx}" y="{bottom + 16}" text-anchor="middle">{_e(fmt(tick))}</text>')
    for i, bar in enumerate(bars):
        y = top + i * row_h
        mid = _n(y + row_h / 2 + 4)
        out.append(
            f'<text class="label" x="{label_w - 8}" y="{mid}" text-anchor="end">{_e(_clip(bar.label))}'
            f"<title>{_e(bar.label)}</title></text>"
        )
        if bar.value is not None:
            end = x(bar.value)
            left, size = min(origin, end), abs(end - origin)
            fill = bar.colour if size >= 1 else NEUTRAL
            out.append(
                f'<rect class="bar" x="{_n(left if size >= 1 else origin - 0.5)}" y="{_n(y + (row_h - bar_h) / 2)}" '
                f'width="{_n(max(size, 1.0))}" height="{bar_h}" fill="{fill}" shape-rendering="crispEdges">'
                f"<title>{_e(bar.tooltip)}</title></rect>"
            )
        if bar.mark is not None:
            mx = _n(x(bar.mark))
            out.append(f'<line class="mark" x1="{mx}" y1="{y + 1}" x2="{mx}" y2="{y + row_h - 1}" stroke="#1b1f24"/>')
        text = bar.note or (fmt(bar.value) if bar.value is not None else "")
        out.append(f'<text class="value" x="{label_w + plot_w + 8}" y="{mid}">{_e(text)}</text>')
    out.append(
        f'<line class="axis" x1="{_n(origin)}" y1="{top - 4}" x2="{_n(origin)}" y2="{bottom}" stroke="#3d4752"/>'
    )
    if reference is not None:
        rx = _n(x(reference))
        out.append(
            f'<line class="reference" x1="{rx}" y1="{top - 8}" x2="{rx}" y2="{bottom}" stroke="#1b1f24" '
            'stroke-dasharray="4 3"/>'
        )
        out.append(f'<text class="tick" x="{rx}" y="{top - 12}" text-anchor="middle">{_e(reference_label)}</text>')
    out.append("</svg>")
    return "".join(out)


def heatmap(
    rows: Sequence[str],
    columns: Sequence[str],
    values: Sequence[Sequence[float | None]],
    *,
    scale: Scale,
    fmt: Callable[[float], str],
    cell_text: Callable[[float], str],
) -> str:
    """A grid of coloured cells, rows x columns, each with its value as text and in a tooltip; a legend below."""
    # Narrower cells when there are many columns, so a suite's ~25 sub-scores fit a laptop screen.
    label_w, cell_w, cell_h = _label_width(rows), 40 if len(columns) <= 16 else 32, 20
    longest = max((len(_clip(c, 28)) for c in columns), default=4) * 11 * 0.6
    head = int(longest * math.sin(math.radians(ANGLE))) + 14
    width = label_w + max(cell_w * len(columns) + int(longest * math.cos(math.radians(ANGLE))), LEGEND_W) + 10
    height = head + cell_h * len(rows) + 56
    out = [_svg_open(width, height, "heatmap")]
    for j, column in enumerate(columns):
        cx = _n(label_w + j * cell_w + cell_w / 2)
        out.append(
            f'<text class="col" transform="translate({cx},{head - 6}) rotate(-{ANGLE})">{_e(_clip(column, 28))}'
            f"<title>{_e(column)}</title></text>"
        )
    for i, row in enumerate(rows):
        y = head + i * cell_h
        out.append(
            f'<text class="label" x="{label_w - 8}" y="{y + cell_h / 2 + 4:.0f}" text-anchor="end">{_e(_clip(row))}'
            f"<title>{_e(row)}</title></text>"
        )
        for j, column in enumerate(columns):
            value = values[i][j]
            x = label_w + j * cell_w
            box = f'x="{x}" y="{y}" width="{cell_w - 1}" height="{cell_h - 1}" shape-rendering="crispEdges"'
            if value is None:
                out.append(
                    f'<rect class="nocell" {box} fill="{MISSING}"><title>{_e(row)} · {_e(column)}: no score</title></rect>'
                )
                continue
            fill = scale.colour(value)
            out.append(
                f'<rect class="cell" {box} fill="{fill}"><title>{_e(row)} · {_e(column)}: {_e(fmt(value))}</title></rect>'
                f'<text class="cellv" x="{x + (cell_w - 1) / 2:.1f}" y="{y + cell_h / 2 + 3:.0f}" text-anchor="middle" '
                f'fill="{_ink(fill)}">{_e(cell_text(value))}</text>'
            )
    out.append(_legend(scale, fmt, label_w, head + cell_h * len(rows) + 16))
    out.append("</svg>")
    return "".join(out)


LEGEND_STEPS, LEGEND_STEP_W = 11, 22
LEGEND_W = LEGEND_STEPS * LEGEND_STEP_W + 20  # room for the last label's overhang


def _legend(
    scale: Scale, fmt: Callable[[float], str], x: int, y: int, steps: int = LEGEND_STEPS, step_w: int = LEGEND_STEP_W
) -> str:
    out = [f'<g class="legend" transform="translate({x},{y})">']
    for k in range(steps):
        value = scale.low + (scale.high - scale.low) * k / (steps - 1)
        out.append(
            f'<rect class="swatch" x="{k * step_w}" y="0" width="{step_w}" height="12" fill="{scale.colour(value)}" '
            f'shape-rendering="crispEdges"><title>{_e(fmt(value))}</title></rect>'
        )
    for k, anchor in ((0, "start"), ((steps - 1) // 2, "middle"), (steps - 1, "end")):
        value = scale.low + (scale.high - scale.low) * k / (steps - 1)
        tx = 0 if anchor == "start" else (steps * step_w if anchor == "end" else k * step_w + step_w // 2)
        out.append(f'<text class="tick" x="{tx}" y="26" text-anchor="{anchor}">{_e(fmt(value))}</text>')
    out.append("</g>")
    return "".join(out)


@dataclass(frozen=True)
class Series:
    """One line of a line chart: (x index, y in 0..1, tooltip) points, in x order."""

    label: str
    colour: str
    points: Sequence[tuple[int, float, str]]


def line_chart(series: Sequence[Series], x_labels: Sequence[str], *, highlight: Collection[int] = ()) -> str:
    """Lines on a 0..1 y axis over ``len(x_labels)`` evenly spaced x slots, a dot per point, a legend on the right.

    A series with one point shows as its dot; ``highlight`` rings the points at those x slots.
    """
    left, top, plot_h = 44, 14, 200
    count = max(len(x_labels), 1)
    plot_w = max(480, min(760, 48 * count))
    legend_x = left + plot_w + 24
    width = legend_x + 22 + _label_width([s.label for s in series])
    height = max(top + plot_h + 44, top + 20 * len(series) + 10)

    def x(i: int) -> float:
        return left + (i + 0.5) * plot_w / count

    def y(v: float) -> float:
        return top + (1.0 - min(max(v, 0.0), 1.0)) * plot_h

    out = [_svg_open(width, height, "line chart")]
    for k in range(5):
        value = k / 4
        gy = _n(y(value))
        out.append(f'<line x1="{left}" y1="{gy}" x2="{left + plot_w}" y2="{gy}" stroke="#e3e6ea"/>')
        out.append(f'<text class="tick" x="{left - 6}" y="{_n(y(value) + 4)}" text-anchor="end">{value:.2f}</text>')
    out.append(f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#3d4752"/>')
    step = max(1, math.ceil(len(x_labels) / 6))
    for i in range(0, len(x_labels), step):
        out.append(
            f'<text class="tick" x="{_n(x(i))}" y="{top + plot_h + 18}" text-anchor="middle">{_e(x_labels[i])}</text>'
        )
    for s in series:
        if len(s.points) > 1:
            points = " ".join(f"{_n(x(i))},{_n(y(v))}" for i, v, _ in s.points)
            out.append(f'<polyline class="line" points="{points}" fill="none" stroke="{s.colour}" stroke-width="2.5"/>')
        for i, v, tip in s.points:
            ring = ' stroke="#1b1f24" stroke-width="2"' if i in highlight else ' stroke="#ffffff" stroke-width="1"'
            out.append(
                f'<circle class="point" cx="{_n(x(i))}" cy="{_n(y(v))}" r="{5 if i in highlight else 4}" '
                f'fill="{s.colour}"{ring}><title>{_e(tip)}</title></circle>'
            )
    for k, s in enumerate(series):
        ly = top + 20 * k
        out.append(
            f'<rect class="swatch" x="{legend_x}" y="{ly}" width="14" height="14" fill="{s.colour}"/>'
            f'<text class="label" x="{legend_x + 20}" y="{ly + 11}">{_e(_clip(s.label))}'
            f"<title>{_e(s.label)}</title></text>"
        )
    out.append("</svg>")
    return "".join(out)


def _svg_open(width: int | float, height: int | float, label: str) -> str:
    return (
        # Inline SVG in HTML needs no xmlns: the parser puts it in the SVG namespace, and the page names no URL.
        f'<svg width="{_n(width)}" height="{_n(height)}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" role="img" aria-label="{_e(label)}">'
    )


# -- shared page parts --------------------------------------------------------------------------------

_CSS = """
body{margin:0;background:#f4f5f7;color:#1b1f24;
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1200px;margin:0 auto;padding:20px 28px 48px}
h1{font-size:22px;margin:0 0 8px}
h2{font-size:16px;margin:0 0 10px}
section,header{background:#fff;border:1px solid #e1e4e8;border-radius:8px;padding:14px 18px;margin:14px 0}
.badge{display:inline-block;padding:3px 12px;border-radius:999px;font-weight:600;font-size:13px;
letter-spacing:.03em;text-transform:uppercase;vertical-align:middle;margin-left:8px}
.bad{background:#fde8ea;color:#a61b29}.good{background:#e3f5ea;color:#17643a}.neutral{background:#eceff3;color:#3d4752}
.headline{font-size:16px;margin:6px 0}
.muted{color:#5f6b77}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:4px 10px;text-align:right;border-bottom:1px solid #eef0f3;vertical-align:top}
th{font-weight:600;color:#3d4752;background:#fafbfc}
th:first-child,td:first-child{text-align:left}
td.text{text-align:left}
tr.total td{font-weight:600}
tr.sub td:first-child{padding-left:26px;color:#4a5561}
.neg{color:#b3261e}.pos{color:#17643a}
.chart{overflow-x:auto}
svg .label,svg .tick,svg .col,svg .value{fill:#3d4752}
svg .label{font-size:12px}svg .tick{font-size:10px}svg .col{font-size:11px}svg .value{font-size:11px}
svg .cellv{font-size:9px}
details{border-top:1px solid #eef0f3;padding:6px 0}
summary{cursor:pointer}
ul.details{margin:2px 0;padding-left:18px;color:#4a5561}
pre{white-space:pre-wrap;font-size:12px;background:#fafbfc;border:1px solid #eef0f3;padding:8px;border-radius:4px}
code{font-size:13px}
@media print{body{background:#fff}section,header{border:none;break-inside:avoid}}
"""


def _page(title: str, body: Sequence[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(body)
        + "\n</main>\n</body>\n</html>\n"
    )


def _section(title: str, content: str, note: str = "") -> str:
    extra = f'<p class="muted">{_e(note)}</p>' if note else ""
    return f'<section><h2>{_e(title)}</h2>{extra}<div class="chart">{content}</div></section>'


def _case_label(case_id: str, repeat: int, with_repeat: bool) -> str:
    return f"{case_id}#{repeat}" if with_repeat else case_id


def _field_names(per_case: Sequence[dict[str, float]]) -> list[str]:
    """Every scorer and sub-score in first-seen order (a scorer before its sub-scores), the total left out."""
    names: list[str] = []
    for values in per_case:
        for name in values:
            if name != TOTAL and name not in names:
                names.append(name)
    return names


def _trend_section(trends: Sequence[VersionTrend], highlight_ids: Collection[str] = ()) -> str:
    runs = sorted({r.id: r for t in trends for r in t.runs}.values(), key=lambda r: (r.started_at, r.id))
    if not runs:
        return _section("Trend per prompt version", '<p class="muted">No stored runs of this suite.</p>')
    slot = {r.id: i for i, r in enumerate(runs)}
    series = [
        Series(
            t.prompt,
            PALETTE[k % len(PALETTE)],
            [
                (slot[r.id], mean, f"{t.prompt} · run {r.id} · {r.started_at[:16].replace('T', ' ')} · mean {mean:.3f}")
                for r, mean in zip(t.runs, t.means, strict=True)
                if mean is not None
            ],
        )
        for k, t in enumerate(trends)
    ]
    labels = [r.started_at[5:16].replace("T", " ") for r in runs]
    chart = line_chart(series, labels, highlight=[slot[i] for i in highlight_ids if i in slot])
    note = f"Mean total of every stored run of the suite, oldest first ({len(runs)} run{'s' if len(runs) != 1 else ''})"
    return _section(
        "Trend per prompt version", chart, note + ("; ringed: the runs on this page." if highlight_ids else ".")
    )


def _stat(label: str, value: str) -> str:
    return f'<tr><th>{_e(label)}</th><td class="text">{value}</td></tr>'


# -- comparison page ----------------------------------------------------------------------------------


def _verdict_class(comparison: Comparison) -> str:
    if comparison.regressed:
        return "bad"
    return "good" if comparison.verdict == IMPROVEMENT else "neutral"


def _delta_class(metric: MetricDelta) -> str:
    if metric.ci_high < 0:
        return "neg"
    return "pos" if metric.ci_low > 0 else ""


def _run_row(role: str, run: RunInfo) -> str:
    mean = run.totals.get("mean_total")
    return (
        f'<tr><td>{_e(role)}</td><td class="text"><code>{_e(run.id)}</code></td>'
        f'<td class="text">{_e(run.prompt_name)}@{_e(run.prompt_version)}</td>'
        f'<td class="text">{_e(run.provider)}/{_e(run.model)}</td>'
        f'<td class="text">{_e(run.started_at[:19].replace("T", " "))}</td>'
        f"<td>{f'{mean:.3f}' if isinstance(mean, int | float) else '-'}</td></tr>"
    )


def _metric_table(comparison: Comparison) -> str:
    gated = any(m.gate_margin is not None for m in comparison.metrics)
    head = ["metric", "n", "baseline", "candidate", "delta", "95% CI", "p", "p (Holm)"] + (["gate"] if gated else [])
    rows = []
    for m in comparison.metrics:
        kind = "total" if m.name == TOTAL else ("sub" if "." in m.name else "scorer")
        gate = ""
        if gated:
            gate = "" if m.gate_margin is None else f"{m.gate_margin:g} " + ("REGRESSED" if m.gate_regressed else "ok")
            gate = f'<td class="{"neg" if m.gate_regressed else ""}">{_e(gate)}</td>'
        rows.append(
            f'<tr class="{kind}"><td>{_e(m.name)}</td><td>{m.n}</td><td>{m.mean_baseline:.3f}</td>'
            f'<td>{m.mean_candidate:.3f}</td><td class="{_delta_class(m)}">{signed(m.mean_delta)}</td>'
            f"<td>[{signed(m.ci_low)}, {signed(m.ci_high)}]</td><td>{fmt_p(m.p_value)}</td>"
            f"<td>{fmt_p(m.p_holm)}</td>{gate}</tr>"
        )
    header = "".join(f"<th>{_e(h)}</th>" for h in head)
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _passed_word(value: bool | None) -> str:
    return "-" if value is None else ("pass" if value else "fail")


def _detail_list(details: Sequence[str]) -> str:
    if not details:
        return ""
    items = "".join(f"<li>{_e(d)}</li>" for d in details[:MAX_DETAILS])
    more = f"<li>\u2026 {len(details) - MAX_DETAILS} more</li>" if len(details) > MAX_DETAILS else ""
    return f'<ul class="details">{items}{more}</ul>'


def _worse_case(worse: WorseCase, label: str, open_: bool) -> str:
    names = sorted(worse.deltas, key=lambda name: (worse.deltas[name], name))
    names += [name for name in worse.new_details if name not in worse.deltas]
    rows = "".join(
        f'<tr><td>{_e(name)}</td><td class="{"neg" if worse.deltas.get(name, 0.0) < 0 else "pos"}">'
        f"{signed(worse.deltas[name]) if name in worse.deltas else '-'}</td>"
        f'<td class="text">{_detail_list(worse.new_details.get(name, []))}</td></tr>'
        for name in names
    )
    table = (
        "<table><thead><tr><th>field</th><th>delta</th><th>new in the candidate</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        if rows
        else '<p class="muted">No field-level change recorded.</p>'
    )
    return (
        f"<details{' open' if open_ else ''}><summary><code>{_e(label)}</code>: total "
        f"{worse.baseline_total:.3f} \u2192 {worse.candidate_total:.3f} "
        f'(<span class="neg">{signed(worse.delta)}</span>), '
        f"{_passed_word(worse.baseline_passed)} \u2192 {_passed_word(worse.candidate_passed)}</summary>{table}</details>"
    )


def comparison_to_html(comparison: Comparison, trends: Sequence[VersionTrend], *, max_cases: int = MAX_CASES) -> str:
    """The comparison as one self-contained HTML page: verdict, metric table, per-case charts, trend, worst cases."""
    b, c, total = comparison.baseline, comparison.candidate, comparison.total
    with_repeat = any(p.repeat for p in comparison.pair_deltas)
    labels = [_case_label(p.case_id, p.repeat, with_repeat) for p in comparison.pair_deltas]
    verdict = comparison.verdict
    gates = (
        f'<p class="headline neg">Gates regressed: {_e(", ".join(comparison.failed_gates))}</p>'
        if comparison.failed_gates
        else ""
    )
    coverage = [f"{comparison.pairs} pairs compared"]
    if comparison.skipped_errors:
        coverage.append(f"{comparison.skipped_errors} skipped (errored or unscored)")
    if comparison.only_baseline or comparison.only_candidate:
        coverage.append(
            f"{len(comparison.only_baseline)} only in the baseline, {len(comparison.only_candidate)} only in the candidate"
        )
    header = (
        f'<header><h1>Eval comparison: {_e(b.suite_name)} <span class="badge {_verdict_class(comparison)}">'
        f"{_e(verdict)}</span></h1>"
        f'<p class="headline">Total mean delta <strong class="{_delta_class(total)}">{signed(total.mean_delta)}</strong>'
        f" (95% CI {signed(total.ci_low)} to {signed(total.ci_high)}, margin {comparison.margin:g}), "
        f"Wilcoxon p {fmt_p(total.p_value)}; flips {comparison.pass_to_fail} pass\u2192fail, "
        f"{comparison.fail_to_pass} fail\u2192pass (exact McNemar p {fmt_p(comparison.mcnemar_p)})</p>{gates}"
        "<table><thead><tr><th>run</th><th>id</th><th>prompt</th><th>provider/model</th><th>started (UTC)</th>"
        f"<th>mean total</th></tr></thead><tbody>{_run_row('baseline', b)}{_run_row('candidate', c)}</tbody></table>"
        f'<p class="muted">Suite {_e(b.suite_name)} ({_e(b.suite_hash[:12])}): {_e("; ".join(coverage))}.</p></header>'
    )
    totals = [p.deltas.get(TOTAL) for p in comparison.pair_deltas]
    limit = _symmetric_limit([t for t in totals if t is not None])
    bars = [
        Bar(
            label,
            delta,
            NEUTRAL if delta is None or delta == 0 else (NEGATIVE if delta < 0 else POSITIVE),
            f"{label}: total {signed(delta)}" if delta is not None else f"{label}: no total",
        )
        for label, delta in zip(labels, totals, strict=True)
    ]
    bar_svg = bar_chart(bars, low=-limit, high=limit, fmt=signed)
    fields = _field_names([p.deltas for p in comparison.pair_deltas])
    grid = [[p.deltas.get(name) for name in fields] for p in comparison.pair_deltas]
    cell_limit = _symmetric_limit([v for row in grid for v in row if v is not None])
    heat_svg = heatmap(labels, fields, grid, scale=diverging(cell_limit), fmt=signed, cell_text=_short_signed)
    worse = comparison.worse_cases[:max_cases]
    worse_html = "".join(
        _worse_case(w, _case_label(w.case_id, w.repeat, with_repeat), i < 3) for i, w in enumerate(worse)
    )
    worse_note = (
        f"The {len(worse)} pairs whose total dropped most, of {len(comparison.worse_cases)}: the fields that "
        "changed and the scorer details that are new in the candidate."
    )
    body = [
        header,
        _section(
            "Metrics",
            _metric_table(comparison),
            "Candidate minus baseline over the paired cases; "
            "p is Wilcoxon signed-rank, p (Holm) is adjusted over the gated metrics.",
        ),
        _section("Total delta per case", bar_svg, "Green: the candidate scored higher; red: lower."),
        _section(
            "Delta per field and case",
            heat_svg,
            f"Candidate minus baseline per scorer and sub-score; colours saturate at \u00b1{cell_limit:.2f}.",
        ),
        _trend_section(trends, (b.id, c.id)),
        _section("Pairs that got worse", worse_html, worse_note)
        if worse
        else _section("Pairs that got worse", '<p class="muted">No pair got worse.</p>'),
    ]
    title = f"{verdict}: {b.prompt_name}@{b.prompt_version} \u2192 {c.prompt_name}@{c.prompt_version} on {b.suite_name}"
    return _page(title, body)


# -- run page ----------------------------------------------------------------------------------------


def _thresholds(run: RunInfo) -> tuple[float | None, dict[str, float]]:
    """The suite's case threshold and the per-case overrides, as the run recorded them."""
    thresholds = run.params.get("thresholds")
    default = thresholds.get("case") if isinstance(thresholds, dict) else None
    overrides = run.params.get("case_thresholds")
    return (
        float(default) if isinstance(default, int | float) else None,
        {str(k): float(v) for k, v in overrides.items()} if isinstance(overrides, dict) else {},
    )


def _money(value: object) -> str:
    return f"${value:.4f}" if isinstance(value, int | float) else "unknown"


def _rate(value: object, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) else "-"


def _failing_case(result: CaseResult, label: str, open_: bool) -> str:
    """A failing case with the per-field reasons ``eval show`` prints."""
    outcome = "unscored"
    if result.error:
        outcome = "error"
    elif result.total is not None:
        outcome = f"total {result.total:.3f}"
    reasons = "\n".join(explain([result]))
    return (
        f"<details{' open' if open_ else ''}><summary><code>{_e(label)}</code>: {outcome}</summary>"
        f"<pre>{_e(reasons)}</pre></details>"
    )


def run_to_html(run: RunInfo, results: Sequence[CaseResult], trends: Sequence[VersionTrend]) -> str:
    """One run as a self-contained HTML page: headline, per-case totals, field heatmap, trend, failing cases."""
    t = run.totals
    with_repeat = any(r.repeat for r in results)
    labels = [_case_label(r.case_id, r.repeat, with_repeat) for r in results]
    default, overrides = _thresholds(run)
    passed = bool(t.get("suite_passed"))
    stats = [
        _stat("prompt", f"{_e(run.prompt_name)}@{_e(run.prompt_version)} <code>{_e(run.prompt_sha256[:12])}</code>"),
        _stat("provider/model", f"{_e(run.provider)}/{_e(run.model)}"),
        _stat(
            "run",
            f"<code>{_e(run.id)}</code> [{_e(run.status)}], started {_e(run.started_at[:19].replace('T', ' '))} UTC",
        ),
        _stat("scored", f"{_e(t.get('scored', 0))}/{_e(t.get('expected', 0))}, errors {_e(t.get('errors', 0))}"),
        _stat("pass rate", _e(_rate(t.get("pass_rate")))),
        _stat("mean total", _e(_rate(t.get("mean_total"), 3))),
        _stat("tokens", f"{_e(t.get('input_tokens', 0))} in / {_e(t.get('output_tokens', 0))} out"),
        _stat("cost", _e(_money(t.get("cost_usd")))),
    ]
    if run.git_commit:
        stats.append(_stat("git commit", f"<code>{_e(run.git_commit[:12])}</code>"))
    header = (
        f'<header><h1>Eval run: {_e(run.suite_name)} <span class="badge {"good" if passed else "bad"}">'
        f"{'suite passed' if passed else 'suite failed'}</span></h1><table><tbody>{''.join(stats)}</tbody></table></header>"
    )
    bars = []
    for label, r in zip(labels, results, strict=True):
        own = overrides.get(r.case_id)
        if r.error or r.total is None:
            bars.append(Bar(label, None, NEUTRAL, f"{label}: error", note="error" if r.error else "unscored"))
            continue
        word = "pass" if r.passed else "fail"
        bars.append(
            Bar(
                label,
                r.total,
                POSITIVE if r.passed else NEGATIVE,
                f"{label}: total {r.total:.3f}, {word}" + (f" (threshold {own:g})" if own is not None else ""),
                note=f"{r.total:.3f} {word}",
                mark=own if own is not None and own != default else None,
            )
        )
    bar_svg = bar_chart(
        bars,
        low=0.0,
        high=1.0,
        fmt=lambda v: f"{v:.2f}",
        reference=default,
        reference_label=f"threshold {default:g}" if default is not None else "",
    )
    per_case = [metric_values(r) for r in results]
    fields = _field_names(per_case)
    grid = [[values.get(name) for name in fields] for values in per_case]
    heat_svg = heatmap(labels, fields, grid, scale=SEQUENTIAL, fmt=lambda v: f"{v:.3f}", cell_text=_short)
    failing = [r for r in results if not r.passed]
    failing_html = "".join(
        _failing_case(r, _case_label(r.case_id, r.repeat, with_repeat), i < 3)
        for i, r in enumerate(failing[:MAX_CASES])
    )
    if len(failing) > MAX_CASES:
        failing_html += f'<p class="muted">\u2026 and {len(failing) - MAX_CASES} more (see eval show --failing).</p>'
    threshold_note = f"dashed line: the case threshold {default:g}" if default is not None else "no threshold recorded"
    body = [
        header,
        _section(
            "Total per case",
            bar_svg,
            f"Green: passed, red: failed, {threshold_note}"
            + ("; ticks: a case's own threshold." if overrides else "."),
        ),
        _section("Score per field and case", heat_svg, "Every scorer and sub-score, 0 (light) to 1 (dark)."),
        _trend_section(trends, (run.id,)),
        _section(
            f"Failing cases ({len(failing)} of {len(results)})",
            failing_html or f'<p class="muted">{"Every case passed." if results else "No results."}</p>',
        ),
    ]
    return _page(f"{run.suite_name}: {run.prompt_name}@{run.prompt_version} run {run.id}", body)


__all__ = [
    "NEGATIVE",
    "NEUTRAL",
    "POSITIVE",
    "Bar",
    "Scale",
    "Series",
    "bar_chart",
    "comparison_to_html",
    "diverging",
    "heatmap",
    "line_chart",
    "run_to_html",
]
