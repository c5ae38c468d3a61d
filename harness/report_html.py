"""`sessionlint stress --html PATH`: the whole run as one self-contained HTML file.

`render_html(result)` is a pure function of a `report.StressResult`. The page has
no scripts and loads nothing: the CSS is inline and the plots are SVG drawn here.
Per scenario it shows the two arms side by side -- the same rows as the terminal
table (`report.scenario_rows`), the verdicts coloured -- then the witnesses, notes,
errors, versions and database, and two plots per arm on shared axes:

* latency over time: one dot per completed request (time since the run started vs
  latency), coloured ok / fail / info, from the arm's bounded `timeline`;
* anomalies over time: one lane per anomaly class that was found, a tick at each
  time the checker saw one (`AnomalyResult.times`). Symptoms (pool exhaustion, 5xx
  cascades, ...) are judged over the whole run and have no time, so they are listed
  under the plot.

Every string that reaches the page goes through `html.escape`.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from html import escape
from typing import Any

from . import report

TYPE_COLOURS = {"ok": "#2e7d32", "fail": "#ef6c00", "info": "#c62828"}
TYPE_LABELS = {"ok": "ok (2xx)", "fail": "fail (deliberate 4xx)", "info": "info (5xx, timeout, no answer)"}
LANE_COLOUR = "#6a1b9a"
MAX_TICKS_PER_LANE = 1000  # anomaly times drawn per class (counts are always complete)
PLOT_W, PLOT_H = 520, 250
MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 64, 14, 12, 40

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#1a1a1a;max-width:1200px}
h1{margin-bottom:.2rem}h2{margin-top:2.5rem;border-bottom:2px solid #ddd;padding-bottom:.2rem}
.meta{color:#555;margin:.15rem 0}.summary{font-weight:bold;padding:.5rem .8rem;border-radius:4px;display:inline-block}
.pass{background:#e8f5e9;color:#1b5e20}.fail{background:#ffebee;color:#b71c1c}.inconclusive{background:#fff8e1;color:#8d6e00}
table.arms{border-collapse:collapse;margin:1rem 0;min-width:60%}
table.arms th,table.arms td{border:1px solid #ddd;padding:.3rem .6rem;text-align:left;vertical-align:top}
table.arms th{background:#f5f5f5}td.nonzero{color:#b71c1c;font-weight:bold}
td.verdict{font-weight:bold}ul.lines{padding-left:1.2rem}ul.lines li{margin:.2rem 0}
.plots{display:flex;flex-wrap:wrap;gap:1.5rem}figure{margin:0;flex:1 1 480px;max-width:600px}
figcaption{font-size:.9rem;color:#333;margin-top:.2rem}svg{width:100%;height:auto;background:#fff}
.swatch{display:inline-block;width:.7rem;height:.7rem;border-radius:50%;margin:0 .25rem 0 .6rem}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85rem}
pre{background:#f7f7f7;padding:.5rem;overflow-x:auto}nav li{margin:.15rem 0}
"""


def render_html(result: report.StressResult, *, generated: datetime | None = None) -> str:
    """The report as one HTML document (no scripts, no external resources)."""
    from sessionlint import __version__

    when = (generated or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M:%S UTC")
    status = "pass" if result.passed else "fail"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e('sessionlint stress report')}</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>sessionlint stress</h1>",
        f'<p class="summary {status}">{_e(report.summary_line(result))}</p>',
        f'<p class="meta">{_e(f"sessionlint {__version__} · expect {result.expect} · mode {result.mode} · seed {result.seed} · exit code {report.exit_code(result)} · {when}")}</p>',
    ]
    if len(result.scenarios) > 1:
        parts.append("<nav><ul>")
        for scenario in result.scenarios:
            verdicts = ", ".join(f"{arm}: {v.outcome}" for arm, v in scenario.verdicts.items())
            ok = all(v.passed for v in scenario.verdicts.values())
            parts.append(f'<li><a href="#{_anchor(scenario.name)}">{_e(scenario.name)}</a> '
                         f'<span class="{"pass" if ok else "fail"}">{_e(verdicts)}</span></li>')
        parts.append("</ul></nav>")
    for scenario in result.scenarios:
        parts.append(_scenario_section(result, scenario))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_html(result: report.StressResult, path: str) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write(render_html(result))


# -- one scenario -------------------------------------------------------------------------------


def _scenario_section(result: report.StressResult, scenario: report.ScenarioReport) -> str:
    header = report.header_lines(result, scenario)
    out = [f'<section id="{_anchor(scenario.name)}">', f"<h2>{_e(header[0])}</h2>",
           f'<p class="meta">{_e("expected of the unsafe arm: " + scenario.expected_failure)}</p>']
    out.extend(f'<p class="meta">{_e(line)}</p>' for line in header[1:])
    out.extend(f'<p class="meta">{_e(line)}</p>' for line in _server_lines(scenario))
    out.append(_arms_table(scenario))
    lines = report.footer_lines(scenario)
    if lines:
        out.append("<h3>Witnesses and notes</h3><ul class=\"lines\">")
        out.extend(f"<li>{_e(line)}</li>" for line in lines)
        out.append("</ul>")
    out.append(_errors_section(scenario))
    x_max = _time_extent(scenario.arms)
    out.append("<h3>Latency over time</h3><div class=\"plots\">")
    y_range = _latency_extent(scenario.arms)
    out.extend(_latency_figure(arm, x_max, y_range) for arm in scenario.arms)
    out.append("</div><h3>Anomalies over time</h3><div class=\"plots\">")
    out.extend(_anomaly_figure(arm, x_max, scenario.families) for arm in scenario.arms)
    out.append("</div></section>")
    return "\n".join(out)


def _server_lines(scenario: report.ScenarioReport) -> list[str]:
    lines = []
    for arm in scenario.arms:
        server = (arm.child or {}).get("server") or {}
        kind = server.get("kind")
        if kind == "uvicorn":
            lines.append(f"{arm.arm} arm served by uvicorn {server.get('uvicorn', '')} on {server.get('url')} "
                         f"({server.get('total_requests')} requests over TCP; stopped: {server.get('stop')})")
        elif kind == "url":
            checked = (arm.child or {}).get("final_state_checked")
            lines.append(f"{arm.arm} arm: target server {server.get('url')} (not started by the harness); "
                         + ("final state read from its database, read-only" if checked else
                            "final state NOT read: lost and persisted-aborted writes not checked"))
        elif kind == "asgi":
            lines.append(f"{arm.arm} arm served in-process (httpx.ASGITransport)")
    return lines


def _arms_table(scenario: report.ScenarioReport) -> str:
    out = ['<table class="arms"><thead><tr><th></th>']
    out.extend(f"<th>{_e(arm.arm)} arm</th>" for arm in scenario.arms)
    out.append("</tr></thead><tbody>")
    anomaly_titles = {_title(scenario.arms, name) for name in report.LIST_ANOMALIES + report.COUNTER_ANOMALIES}
    for label, cells in report.scenario_rows(scenario):
        out.append(f"<tr><th>{_e(label)}</th>")
        for arm, cell in zip(scenario.arms, cells, strict=True):
            css = ""
            if label == "verdict":
                verdict = scenario.verdicts[arm.arm]
                css = "verdict " + ("pass" if verdict.passed else
                                    "inconclusive" if verdict.outcome == "inconclusive" else "fail")
            elif label in anomaly_titles and _is_positive_count(cell):
                css = "nonzero"
            attr = f' class="{css}"' if css else ""
            out.append(f"<td{attr}>{'<br>'.join(_e(part) for part in cell.split(chr(10)))}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _title(arms, name: str) -> str:
    return report._title_of(arms, name)


def _is_positive_count(cell: str) -> bool:
    digits = cell.replace(",", "")
    return digits.isdigit() and int(digits) > 0


def _errors_section(scenario: report.ScenarioReport) -> str:
    blocks = []
    for arm in scenario.arms:
        groups = arm.check.errors[:10] if arm.check is not None else []
        if not groups:
            continue
        items = "".join(
            f"<li>×{group.count:,} <code>{_e(group.label)}</code>"
            + (f" — e.g. request {_e(group.requests[0])}" if group.requests else "") + "</li>"
            for group in groups)
        blocks.append(f"<h4>{_e(arm.arm)} arm</h4><ul class=\"lines\">{items}</ul>")
    return "<h3>Errors by type</h3>" + "".join(blocks) if blocks else ""


# -- plots ------------------------------------------------------------------------------------


def _time_extent(arms) -> float:
    """The end of the shared time axis: the last completion or anomaly of any arm."""
    end = 0.0
    for arm in arms:
        for t, _, _ in getattr(arm, "timeline", None) or ():
            end = max(end, t)
        if arm.check is not None:
            for res in arm.check.anomalies.values():
                if res.times:
                    end = max(end, max(res.times))
    return end if end > 0 else 1.0


def _latency_extent(arms) -> tuple[float, float]:
    values = [latency for arm in arms for _, latency, _ in (getattr(arm, "timeline", None) or ()) if latency > 0]
    if not values:
        return (0.001, 1.0)
    return (min(values), max(values))


class _Axis:
    """Maps data to pixels along one axis; linear or (for wide ranges) log10."""

    def __init__(self, lo: float, hi: float, start: float, end: float, log: bool = False) -> None:
        self.log = log
        if log:
            lo, hi = 10 ** math.floor(math.log10(lo)), 10 ** math.ceil(math.log10(hi))
            self.lo, self.hi = math.log10(lo), math.log10(hi)
        else:
            self.lo, self.hi = lo, hi if hi > lo else lo + 1
        self.start, self.end = start, end

    def __call__(self, value: float) -> float:
        v = math.log10(max(value, 10 ** self.lo)) if self.log else value
        return self.start + (v - self.lo) / (self.hi - self.lo) * (self.end - self.start)

    def ticks(self) -> list[float]:
        if self.log:
            return [10 ** k for k in range(int(self.lo), int(self.hi) + 1)]
        return _nice_ticks(self.lo, self.hi)


def _nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    span = hi - lo
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.ceil(lo / step) * step
    ticks, t = [], first
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 10))
        t += step
    return ticks


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:g}"


def _frame(x_axis: _Axis, y_axis: _Axis | None, x_label: str, y_label: str | None) -> list[str]:
    """Axes, grid lines and tick labels of one plot."""
    bottom, right = PLOT_H - MARGIN_B, PLOT_W - MARGIN_R
    out = [f'<rect x="{MARGIN_L}" y="{MARGIN_T}" width="{right - MARGIN_L}" height="{bottom - MARGIN_T}" '
           'fill="none" stroke="#999"/>']
    for t in x_axis.ticks():
        x = x_axis(t)
        out.append(f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 4}" stroke="#999"/>')
        out.append(f'<text x="{x:.1f}" y="{bottom + 16}" font-size="11" text-anchor="middle">{_e(_fmt(t))}</text>')
    out.append(f'<text x="{(MARGIN_L + right) / 2:.1f}" y="{PLOT_H - 6}" font-size="12" '
               f'text-anchor="middle">{_e(x_label)}</text>')
    if y_axis is not None:
        for t in y_axis.ticks():
            y = y_axis(t)
            out.append(f'<line x1="{MARGIN_L}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#eee"/>')
            out.append(f'<text x="{MARGIN_L - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{_e(_fmt(t))}</text>')
        out.append(f'<text x="14" y="{(MARGIN_T + bottom) / 2:.1f}" font-size="12" text-anchor="middle" '
                   f'transform="rotate(-90 14 {(MARGIN_T + bottom) / 2:.1f})">{_e(y_label or "")}</text>')
    return out


def _svg(body: list[str], label: str) -> str:
    return (f'<svg viewBox="0 0 {PLOT_W} {PLOT_H}" role="img" aria-label="{_e(label)}">'
            + "".join(body) + "</svg>")


def _latency_figure(arm, x_max: float, y_range: tuple[float, float], title: str | None = None,
                    labels: dict[str, str] | None = None) -> str:
    timeline = list(getattr(arm, "timeline", None) or ())
    title = title or f"{arm.arm} arm: latency of each request over time"
    x_axis = _Axis(0.0, x_max, MARGIN_L, PLOT_W - MARGIN_R)
    lo_ms, hi_ms = y_range[0] * 1000, y_range[1] * 1000
    log = hi_ms / max(lo_ms, 1e-6) > 30
    y_axis = _Axis(lo_ms if log else 0.0, hi_ms * (1 if log else 1.05), PLOT_H - MARGIN_B, MARGIN_T, log=log)
    body = _frame(x_axis, y_axis, "time since the run started (s)", "latency (ms" + (", log scale)" if log else ")"))
    counts = {kind: 0 for kind in TYPE_COLOURS}
    for kind in ("ok", "fail", "info"):  # rare outcomes last, so they are drawn on top
        for t, latency, point_kind in timeline:
            if point_kind != kind:
                continue
            counts[kind] += 1
            body.append(f'<circle cx="{x_axis(t):.1f}" cy="{y_axis(latency * 1000):.1f}" r="2.2" '
                        f'fill="{TYPE_COLOURS[kind]}" fill-opacity="0.7"/>')
    if not timeline:
        body.append(_centre_text("no completed requests"))
    labels = labels or TYPE_LABELS
    legend = "".join(f'<span class="swatch" style="background:{TYPE_COLOURS[k]}"></span>{_e(labels[k])} '
                     f"{counts[k]:,}" for k in TYPE_COLOURS)
    total = (arm.latency or {}).get("count")
    sampled = (f" — showing {len(timeline):,} of {int(total):,} completions, sampled evenly (failures kept first)"
               if total and len(timeline) < total else "")
    return (f"<figure>{_svg(body, title)}<figcaption><strong>{_e(title)}</strong><br>{legend}"
            f"{_e(sampled)}</figcaption></figure>")


def _anomaly_figure(arm, x_max: float, families) -> str:
    title = f"{arm.arm} arm: anomalies over time"
    x_axis = _Axis(0.0, x_max, MARGIN_L + 96, PLOT_W - MARGIN_R)
    found = [res for res in (arm.check.anomalies.values() if arm.check is not None else ()) if res.count]
    body = _frame(x_axis, None, "time since the run started (s)", None)
    if arm.check is None:
        body.append(_centre_text("not checked: " + (arm.check_error or arm.problem or arm.status)))
    elif not found:
        body.append(_centre_text("no anomalies"))
    else:
        lane = (PLOT_H - MARGIN_B - MARGIN_T) / len(found)
        for index, res in enumerate(found):
            y = MARGIN_T + lane * (index + 0.5)
            counted = families is None or res.family in families
            body.append(f'<text x="{MARGIN_L - 58}" y="{y - 2:.1f}" font-size="11">{_e(res.title)}</text>')
            body.append(f'<text x="{MARGIN_L - 58}" y="{y + 11:.1f}" font-size="10" fill="#555">'
                        f'{_e(f"×{res.count:,}" + ("" if counted else " (not counted)"))}</text>')
            body.append(f'<line x1="{MARGIN_L + 96}" y1="{y:.1f}" x2="{PLOT_W - MARGIN_R}" y2="{y:.1f}" stroke="#eee"/>')
            times = res.times if len(res.times) <= MAX_TICKS_PER_LANE else _every(res.times, MAX_TICKS_PER_LANE)
            half = min(8.0, lane / 3)
            for t in times:
                x = x_axis(t)
                body.append(f'<line x1="{x:.1f}" y1="{y - half:.1f}" x2="{x:.1f}" y2="{y + half:.1f}" '
                            f'stroke="{LANE_COLOUR}" stroke-width="1.5"/>')
            if not res.times:
                body.append(f'<text x="{MARGIN_L + 102}" y="{y + 4:.1f}" font-size="11" fill="#555">'
                            f'{_e("found in the final state (no time)")}</text>')
    symptoms = list(getattr(arm, "symptoms", None) or ())
    caption = f"<strong>{_e(title)}</strong>"
    if symptoms:
        caption += "<br>symptoms (judged over the whole run, no time):<ul class=\"lines\">" + "".join(
            f"<li>{_e(f'{s.title} ×{s.count:,}: {s.text}')}</li>" for s in symptoms) + "</ul>"
    return f"<figure>{_svg(body, title)}<figcaption>{caption}</figcaption></figure>"


def _every(items: list[float], count: int) -> list[float]:
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def _centre_text(text: str) -> str:
    return (f'<text x="{(MARGIN_L + PLOT_W - MARGIN_R) / 2:.1f}" y="{(MARGIN_T + PLOT_H - MARGIN_B) / 2:.1f}" '
            f'font-size="13" text-anchor="middle" fill="#555">{_e(text)}</text>')


def _anchor(name: str) -> str:
    return "scenario-" + "".join(ch if ch.isalnum() or ch == "-" else "-" for ch in name)


def _e(value: Any) -> str:
    return escape(str(value), quote=True)
