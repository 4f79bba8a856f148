"""`otel-llm replay --report report.html`: one self-contained HTML file (inline CSS and SVG, no script,
no network: a Content-Security-Policy forbids every fetch) with, per model, the distribution of each of
the four scores, their course over time, the refusal ratio and the worst-scoring records' ids.

Scores are shown on the [0, 1] scale the histograms record (similarity max(0, cosine), sentiment
(s + 1) / 2). Completion text appears only with `include_content` (`--report-content`). Memory is
bounded: fixed bins per score, one sum per score and minute, ten worst records per score.
"""

from __future__ import annotations

import heapq
import html
import itertools
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import _instruments as names
from .._instruments import ATTR_MODEL
from .._quality.recorder import call_attributes
from ..record import LLMCall
from ._timed import MINUTE_MS, call_time_ms

BINS = 20
WORST = 10
MAX_POINTS = 72  # time buckets drawn per chart
SNIPPET_CHARS = 240
# score, label, colour, whether low is bad, mapping of the Scores attribute to [0, 1]
SCORES = (
    ("similarity", "similarity", "#2563eb", True, names.similarity_to_unit),
    ("sentiment", "sentiment", "#16a34a", True, names.sentiment_to_unit),
    ("toxicity", "toxicity", "#dc2626", False, names.unit_interval),
    ("refusal", "refusal", "#9333ea", False, names.unit_interval),
)
_ORDER = itertools.count()


@dataclass(slots=True)
class _Worst:
    """The `WORST` records with the worst value of one score (a bounded heap)."""

    low_is_bad: bool
    heap: list[tuple[float, int, float, str, str]] = field(default_factory=list)

    def offer(self, value: float, record_id: str, snippet: str) -> None:
        badness = -value if self.low_is_bad else value
        item = (badness, next(_ORDER), value, record_id, snippet)
        if len(self.heap) < WORST:
            heapq.heappush(self.heap, item)
        elif badness > self.heap[0][0]:
            heapq.heapreplace(self.heap, item)

    def ranked(self) -> list[tuple[float, str, str]]:
        return [(value, rid, snippet) for _b, _o, value, rid, snippet in sorted(self.heap, reverse=True)]


@dataclass(slots=True)
class _Model:
    scored: int = 0
    refusals: int = 0
    refusal_judged: int = 0
    bins: dict[str, list[int]] = field(default_factory=lambda: {s[0]: [0] * BINS for s in SCORES})
    sums: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    minutes: dict[int, dict[str, list[float]]] = field(default_factory=dict)  # minute -> score -> [sum, n]
    worst: dict[str, _Worst] = field(default_factory=lambda: {s[0]: _Worst(s[3]) for s in SCORES})


def record_id(call: LLMCall) -> str:
    """How a report names a record: its request id, else its response id, else where it was read."""
    for value in (call.extra.get("request_id"), call.response_id, call.extra.get("log_location")):
        if value:
            return str(value)
    return "(no id)"


class ReportBuilder:
    """Collects scored calls (`add`, the replay's `on_scored`) and writes the report (`write`)."""

    def __init__(self, include_content: bool = False, title: str = "otel-llm replay report") -> None:
        self.include_content = include_content
        self.title = title
        self.models: dict[str, _Model] = {}
        self.first_ms: int | None = None
        self.last_ms: int | None = None

    def add(self, call: LLMCall, scores: Any) -> None:
        model = self.models.setdefault(call_attributes(call)[ATTR_MODEL], _Model())
        model.scored += 1
        stamp = call_time_ms(call)
        minute = None
        if stamp is not None:
            minute = stamp - stamp % MINUTE_MS
            self.first_ms = stamp if self.first_ms is None else min(self.first_ms, stamp)
            self.last_ms = stamp if self.last_ms is None else max(self.last_ms, stamp)
        snippet = call.completion[:SNIPPET_CHARS] if self.include_content else ""
        rid = record_id(call)
        for name, _label, _colour, _low, to_unit in SCORES:
            raw = getattr(scores, name, None)
            if raw is None or name in (getattr(scores, "unsampled", ()) or ()):
                continue
            value = float(to_unit(raw))
            model.bins[name][min(BINS - 1, int(value * BINS))] += 1
            model.sums[name] = model.sums.get(name, 0.0) + value
            model.counts[name] = model.counts.get(name, 0) + 1
            if minute is not None:
                cell = model.minutes.setdefault(minute, {}).setdefault(name, [0.0, 0])
                cell[0] += value
                cell[1] += 1
            model.worst[name].offer(value, rid, snippet)
        refused = getattr(scores, "refused", None)
        if refused is not None and "refusal" not in (getattr(scores, "unsampled", ()) or ()):
            model.refusal_judged += 1
            model.refusals += bool(refused)
            if minute is not None:
                cell = model.minutes.setdefault(minute, {}).setdefault("refused", [0.0, 0])
                cell[0] += bool(refused)
                cell[1] += 1

    def html(self, summary: Any = None) -> str:
        """The report; with the replay's `summary`, also the models and records that were not scored."""
        seen = dict(getattr(summary, "models", None) or {})
        for name in seen:
            self.models.setdefault(name, _Model())
        parts = [_HEAD.format(title=_e(self.title), css=_CSS), f"<h1>{_e(self.title)}</h1>",
                 f"<p class=meta>{sum(m.scored for m in self.models.values()):,} scored records, "
                 f"{len(self.models)} model(s){self._span()}. Scores on the [0, 1] scale of the "
                 "otel_llm.* histograms. Records are named by request id"
                 + ("; completion text shown (--report-content)." if self.include_content
                    else "; no content.") + "</p>", self._overview(seen)]
        for name in sorted(self.models):
            parts.append(self._section(name, self.models[name], seen.get(name)))
        parts.append("</body></html>\n")
        return "\n".join(parts)

    def write(self, path: str | Path, summary: Any = None) -> None:
        Path(path).write_text(self.html(summary), encoding="utf-8")

    # --- pieces ------------------------------------------------------------------------------
    def _span(self) -> str:
        if self.first_ms is None or self.last_ms is None:
            return ""
        return f", {_time(self.first_ms)} to {_time(self.last_ms)} UTC"

    def _overview(self, seen: dict[str, Any]) -> str:
        rows = []
        for name in sorted(self.models):
            m = self.models[name]
            cells = "".join(f"<td>{_num(_mean(m, s[0]))}</td>" for s in SCORES)
            ratio = f"{100 * m.refusals / m.refusal_judged:.1f} %" if m.refusal_judged else "-"
            calls = f"<td>{seen[name].calls:,}</td>" if name in seen else ("<td>-</td>" if seen else "")
            rows.append(f"<tr><td class=model><a href='#{_anchor(name)}'>{_e(name)}</a></td>"
                        f"{calls}<td>{m.scored:,}</td>{cells}<td>{ratio}</td></tr>")
        head = "".join(f"<th>mean {s[1]}</th>" for s in SCORES)
        calls_head = "<th>calls</th>" if seen else ""
        return (f"<table class=overview><tr><th>model</th>{calls_head}<th>scored</th>{head}"
                "<th>refusal ratio</th></tr>" + "".join(rows) + "</table>")

    def _section(self, name: str, m: _Model, seen: Any = None) -> str:
        ratio = f"{100 * m.refusals / m.refusal_judged:.1f} %" if m.refusal_judged else "-"
        unscored = dict(getattr(seen, "unscored", None) or {})
        why = ("; not scored: " + ", ".join(f"{_e(k)} {v:,}" for k, v in sorted(unscored.items()))
               if unscored else "")
        if not m.scored:
            return (f"<section id='{_anchor(name)}'><h2>{_e(name)}</h2><p class=meta>"
                    f"{getattr(seen, 'calls', 0):,} calls, none scored{why}.</p></section>")
        hist = "".join(_histogram(label, colour, m.bins[score], _mean(m, score))
                       for score, label, colour, _low, _f in SCORES)
        return (f"<section id='{_anchor(name)}'><h2>{_e(name)}</h2>"
                f"<p class=meta>{m.scored:,} scored; refusal ratio <b>{ratio}</b> "
                f"({m.refusals:,} of {m.refusal_judged:,} judged){why}</p>"
                f"<div class=grid>{hist}</div>{_timeline(m)}{self._worst(m)}</section>")

    def _worst(self, m: _Model) -> str:
        blocks = []
        for score, label, _colour, low_is_bad, _f in SCORES:
            ranked = m.worst[score].ranked()
            if not ranked:
                continue
            rows = "".join(f"<tr><td>{value:.3f}</td><td class=id>{_e(rid)}</td>"
                           + (f"<td class=text>{_e(snippet)}</td>" if self.include_content else "") + "</tr>"
                           for value, rid, snippet in ranked)
            title = f"lowest {label}" if low_is_bad else f"highest {label}"
            extra = "<th>completion</th>" if self.include_content else ""
            blocks.append(f"<div class=worst><h3>{title}</h3><table><tr><th>{label}</th><th>record</th>"
                          f"{extra}</tr>{rows}</table></div>")
        return "<div class=worstgrid>" + "".join(blocks) + "</div>"


def _mean(m: _Model, score: str) -> float | None:
    n = m.counts.get(score)
    return m.sums[score] / n if n else None


def _histogram(label: str, colour: str, bins: list[int], mean: float | None) -> str:
    """A bar chart of one score's distribution over [0, 1] (20 bins)."""
    w, h, pad_l, pad_b, pad_t = 228, 130, 34, 22, 8
    total = sum(bins)
    top = max(bins) or 1
    bar_w = (w - pad_l - 6) / BINS
    bars = []
    for i, count in enumerate(bins):
        if not count:
            continue
        bh = (h - pad_b - pad_t) * count / top
        x = pad_l + i * bar_w
        bars.append(f"<rect x='{x:.1f}' y='{h - pad_b - bh:.1f}' width='{bar_w - 1:.1f}' height='{bh:.1f}' "
                    f"fill='{colour}'><title>{i / BINS:.2f}-{(i + 1) / BINS:.2f}: {count}</title></rect>")
    axis = (f"<line x1='{pad_l}' y1='{h - pad_b}' x2='{w - 6}' y2='{h - pad_b}' class=axis />"
            + "".join(f"<text x='{pad_l + t * (w - pad_l - 6):.1f}' y='{h - 6}' class=tick "
                      f"text-anchor='middle'>{t:g}</text>" for t in (0, 0.5, 1))
            + f"<text x='{pad_l - 4}' y='{pad_t + 8}' class=tick text-anchor='end'>{top}</text>"
            + f"<text x='{pad_l - 4}' y='{h - pad_b}' class=tick text-anchor='end'>0</text>")
    marker = ""
    if mean is not None:
        mx = pad_l + mean * (w - pad_l - 6)
        marker = (f"<line x1='{mx:.1f}' y1='{pad_t}' x2='{mx:.1f}' y2='{h - pad_b}' class=mean />")
    return (f"<figure><figcaption>{label} <span>n={total:,}, mean {_num(mean)}</span></figcaption>"
            f"<svg viewBox='0 0 {w} {h}' width='{w}' height='{h}' role='img' aria-label='{label} histogram'>"
            f"{''.join(bars)}{axis}{marker}</svg></figure>")


def _timeline(m: _Model) -> str:
    """Each score's mean, and the refusal ratio, per time bucket."""
    if not m.minutes:
        return "<p class=meta>No timestamps: no course over time.</p>"
    first, last = min(m.minutes), max(m.minutes)
    span = last - first + MINUTE_MS
    step = max(MINUTE_MS, -(-span // MAX_POINTS // MINUTE_MS) * MINUTE_MS)
    buckets: dict[int, dict[str, list[float]]] = {}
    for minute, cells in m.minutes.items():
        bucket = buckets.setdefault((minute - first) // step, {})
        for score, (total, n) in cells.items():
            cell = bucket.setdefault(score, [0.0, 0])
            cell[0] += total
            cell[1] += n
    w, h, pad_l, pad_r, pad_t, pad_b = 860, 200, 34, 110, 10, 24
    slots = max(1, (span + step - 1) // step)

    def x(slot: float) -> float:
        return pad_l + (w - pad_l - pad_r) * ((slot + 0.5) / slots)

    def y(value: float) -> float:
        return pad_t + (h - pad_t - pad_b) * (1 - value)

    series = [(s[0], s[1], s[2], "") for s in SCORES] + [("refused", "refusal ratio", "#9333ea", "4 3")]
    lines, legend = [], []
    for n, (score, label, colour, dash) in enumerate(series):
        pts = [(slot, cells[score][0] / cells[score][1]) for slot, cells in sorted(buckets.items())
               if score in cells and cells[score][1]]
        if not pts:
            continue
        path = " ".join(f"{x(s):.1f},{y(v):.1f}" for s, v in pts)
        dash_attr = f" stroke-dasharray='{dash}'" if dash else ""
        lines.append(f"<polyline points='{path}' fill='none' stroke='{colour}' stroke-width='2'"
                     f"{dash_attr} />")
        if len(pts) == 1:
            lines.append(f"<circle cx='{x(pts[0][0]):.1f}' cy='{y(pts[0][1]):.1f}' r='3' fill='{colour}' />")
        ly = pad_t + 14 + 18 * n
        legend.append(f"<line x1='{w - pad_r + 10}' y1='{ly - 4}' x2='{w - pad_r + 30}' y2='{ly - 4}' "
                      f"stroke='{colour}' stroke-width='2'{dash_attr} />"
                      f"<text x='{w - pad_r + 34}' y='{ly}' class=tick>{label}</text>")
    grid = "".join(f"<line x1='{pad_l}' y1='{y(v):.1f}' x2='{w - pad_r}' y2='{y(v):.1f}' class=gl />"
                   f"<text x='{pad_l - 4}' y='{y(v) + 4:.1f}' class=tick text-anchor='end'>{v:g}</text>"
                   for v in (0, 0.25, 0.5, 0.75, 1))
    anchors = {0: "start", slots - 1: "end"}
    ticks = "".join(f"<text x='{x(s):.1f}' y='{h - 6}' class=tick text-anchor='{anchors.get(s, 'middle')}'>"
                    f"{_time(first + int(s) * step)}</text>"
                    for s in sorted({0, (slots - 1) // 2, slots - 1}))
    width_label = f"{step // MINUTE_MS} min" if step < 3_600_000 else f"{step / 3_600_000:g} h"
    return (f"<figure class=wide><figcaption>course over time <span>mean per {width_label}, UTC</span>"
            f"</figcaption><svg viewBox='0 0 {w} {h}' width='{w}' height='{h}' role='img' "
            f"aria-label='scores over time'>{grid}{''.join(lines)}{''.join(legend)}{ticks}</svg></figure>")


def _time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M")


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)


def _anchor(name: str) -> str:
    return "m-" + "".join(c if c.isalnum() else "-" for c in name)


_HEAD = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{css}</style></head><body>"""

_CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111827;margin:24px;
background:#f9fafb}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:0 0 4px;word-break:break-all}
h3{font-size:13px;margin:0 0 4px;color:#374151}
.meta{color:#4b5563;margin:0 0 12px}
section{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:16px;margin:16px 0}
table{border-collapse:collapse;font-size:13px}
td,th{padding:3px 8px;border-bottom:1px solid #e5e7eb;text-align:right}
th{color:#374151;font-weight:600;background:#f3f4f6}
td.model,td.id,td.text,th:first-child{text-align:left}td.id{font-family:ui-monospace,monospace;font-size:12px}
td.text{max-width:420px;color:#374151}
table.overview{background:#fff;margin:8px 0 4px}
.grid{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:8px 0;background:#fff}figcaption{font-weight:600;font-size:13px}
figcaption span{font-weight:400;color:#6b7280;margin-left:6px}
.worstgrid{display:flex;flex-wrap:wrap;gap:16px;margin-top:8px}
.tick{font-size:10px;fill:#6b7280}.axis{stroke:#9ca3af}
line.gl{stroke:#e5e7eb}.mean{stroke:#111827;stroke-dasharray:3 2}
a{color:#1d4ed8;text-decoration:none}
"""
