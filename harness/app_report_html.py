"""`sessionlint stress --app ... --html PATH`: a user's app run as one self-contained HTML page.

The scenario report (`report_html`) puts two arms side by side; an app run has one
app and the sanitizer's findings instead of verdicts. This page shows the summary
(findings or clean, exit code), the traffic (operations, requests, availability,
latency), every finding group with its lint code, creation site, example request
pairs, evidence and advice, the errors by exception type, the notes, and the
latency-over-time plot drawn by `report_html` (same axes, colours and sampling).

`render_app_html` is a pure function of an `AppStressReport`; no scripts, nothing
loaded from outside, every string escaped.
"""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

from .report_html import CSS, _e, _latency_extent, _latency_figure, _time_extent


# An app's 4xx are not deliberate aborts as in the scenarios: mostly generated ids that do not exist.
APP_LABELS = {"ok": "2xx/3xx", "fail": "4xx", "info": "5xx or no answer"}

# Long paths and messages wrap inside their cells instead of widening the page.
FINDINGS_CSS = """
table.findings{width:100%;table-layout:fixed;border-collapse:collapse}
table.findings th,table.findings td{border:1px solid #ddd;padding:.3rem .6rem;text-align:left;vertical-align:top;
overflow-wrap:anywhere}
table.findings th{background:#f5f5f5}
"""


def render_app_html(app_report, *, generated: datetime | None = None) -> str:
    from sessionlint import __version__

    data = app_report.to_json()
    when = (generated or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M:%S UTC")
    groups = data["sanitizer"].get("findings") or []
    status = "fail" if groups else "pass"
    summary = (f"{len(groups)} finding group(s): the app misuses SQLAlchemy sessions" if groups
               else "no session misuse found")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e('sessionlint stress --app ' + str(data['app']))}</title>",
        f"<style>{CSS}{FINDINGS_CSS}</style></head><body>",
        f"<h1>sessionlint stress — {_e(data['app'])}</h1>",
        f'<p class="summary {status}">{_e(summary)} (exit code {data["exit_code"]})</p>',
        f'<p class="meta">{_e(f"sessionlint {__version__} · {when}")}</p>',
        _traffic_table(data),
        "<h2>Findings</h2>",
        _findings_section(groups),
        "<h2>Errors</h2>",
        _errors_section(data),
    ]
    if data.get("notes"):
        parts.append("<h2>Notes</h2><ul class=\"lines\">"
                     + "".join(f"<li>{_e(note)}</li>" for note in data["notes"]) + "</ul>")
    parts.append("<h2>Latency over time</h2>")
    parts.append(f'<div class="plots">{_latency_plot(app_report)}</div>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_app_html(app_report, path: str) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write(render_app_html(app_report))


def _traffic_table(data: dict[str, Any]) -> str:
    requests = data["requests"]
    latency = data.get("latency") or {}
    statuses = ", ".join(f"{status} ×{count:,}" for status, count in requests["statuses"].items()) or "none"
    rows = [
        ("operations", ", ".join(data["operations"]) or "none"),
        ("requests sent / answered", f"{requests['sent']:,} / {requests['answered']:,}"
         + (f" ({requests['per_second']} req/s)" if requests.get("per_second") else "")),
        ("statuses", statuses),
        ("availability (no 5xx)", f"{100 * data['availability']:.1f} %"),
        ("2xx", f"{100 * data['success_rate']:.1f} %"),
        ("latency p50 / p99 / max", " / ".join(f"{1000 * latency[k]:.1f} ms" for k in ("p50", "p99", "max"))
         if latency else "n/a"),
        ("elapsed", f"{data['elapsed']:.2f} s, stopped by {data['stopped_by']}"),
    ]
    body = "".join(f"<tr><th>{_e(label)}</th><td>{_e(value)}</td></tr>" for label, value in rows)
    return f'<table class="arms">{body}</table>'


def _findings_section(groups: list[dict[str, Any]]) -> str:
    if not groups:
        return "<p>None: no session was shared, leaked, left open or misused while the traffic ran.</p>"
    head = ('<colgroup><col style="width:6rem"><col style="width:16%"><col style="width:5rem">'
            '<col style="width:24%"><col></colgroup>'
            "<tr><th>code</th><th>finding</th><th>count</th><th>created at</th><th>details</th></tr>")
    rows = []
    for group in groups:
        site = group["site"]
        where = f"{site.get('file')}:{site.get('line')}" + (f" in {site['function']}" if site.get("function") else "")
        details = [group["message"]]
        details += ["e.g. " + " ↔ ".join(example) for example in group.get("examples") or ()]
        details += [f"{key}: {value}" for key, value in (group.get("evidence") or {}).items()]
        details.append("fix: " + group["advice"])
        rows.append(
            f'<tr><td class="nonzero">{_e(group["code"])}</td>'
            f'<td>{_e(group["title"])}<br><small>{_e("/".join(group["codes"]))}</small></td>'
            f'<td>{group["count"]:,}</td><td><code>{_e(where)}</code></td>'
            f'<td><ul class="lines">{"".join(f"<li>{_e(line)}</li>" for line in details)}</ul></td></tr>')
    return f'<table class="findings">{head}{"".join(rows)}</table>'


def _errors_section(data: dict[str, Any]) -> str:
    errors = data.get("errors") or {}
    if not errors:
        return "<p>None.</p>"
    examples = data.get("error_examples") or {}
    rows = "".join(f"<tr><td>{_e(kind)}</td><td>{count:,}</td><td><code>{_e(examples.get(kind, ''))}</code></td></tr>"
                   for kind, count in errors.items())
    return f'<table class="arms"><tr><th>error</th><th>count</th><th>example</th></tr>{rows}</table>'


def _latency_plot(app_report) -> str:
    # `report_html._latency_figure` draws one arm; an app run is one "arm" named after the app.
    from .runner import thin_timeline

    arm = SimpleNamespace(arm="app", timeline=thin_timeline(sorted(app_report.timeline)),
                          latency=app_report.latency(), check=None)
    return _latency_figure(arm, _time_extent([arm]), _latency_extent([arm]),
                           title="latency of each request over time", labels=APP_LABELS)
