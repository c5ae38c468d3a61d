"""`sessionlint stress` features beyond the scenarios: the HTML report, the progress
display, serving an arm with uvicorn, and driving a running server with --url.

Everything runs on SQLite with the shared-session scenario and small budgets. The
uvicorn and --url tests prove a real socket was used (uvicorn counted the requests;
a server in another process answered them) and that every server is stopped (its
port refuses connections afterwards).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
from html.parser import HTMLParser

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")
pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from sessionlint.harness import report  # noqa: E402
from sessionlint.harness.checker import check  # noqa: E402
from sessionlint.harness.history import History  # noqa: E402
from sessionlint.harness.live import accepts_connections, check_target_url, read_only_url  # noqa: E402
from sessionlint.harness.progress import ProgressFile, read_progress  # noqa: E402
from sessionlint.harness.report_html import render_html  # noqa: E402
from sessionlint.harness.runner import ArmOptions, ArmResult, run_arm, timeline_points  # noqa: E402
from sessionlint.harness.symptoms import Symptom  # noqa: E402

HOSTILE = "<script>alert('x')</script> & \"quoted\""


def stress_cli(*argv: str) -> int:
    from sessionlint.commands.stress import add_stress_parser, run_stress

    parser = argparse.ArgumentParser(prog="sessionlint")
    add_stress_parser(parser.add_subparsers(dest="command"))
    return run_stress(parser.parse_args(["stress", *argv]))


def describe(result: ArmResult) -> str:
    return f"{result.status} {result.problem} {result.check_error}\n{result.stderr_tail[-2000:]}"


# -- HTML report ----------------------------------------------------------------------------


class _Page(HTMLParser):
    """Every tag with its attributes, the text, and the text per table cell."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.style = ""
        self._in_style = False
        self.cells: list[tuple[dict[str, str | None], str]] = []
        self._cell: tuple[dict, list[str]] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"
        if tag == "td":
            self._cell = (dict(attrs), [])

    def handle_endtag(self, tag):
        self._in_style = False
        if tag == "td" and self._cell is not None:
            self.cells.append((self._cell[0], "".join(self._cell[1])))
            self._cell = None

    def handle_data(self, data):
        if self._in_style:
            self.style += data
        self.text.append(data)
        if self._cell is not None:
            self._cell[1].append(data)


def _planted_history() -> History:
    """A reject that another read saw (aborted read), a 500 with a hostile message, oks."""
    h = History()
    t = 0.0
    for value in range(1, 6):
        r = h.invoke("append", key="items", value=value, process=0, time=t)
        h.complete(r, status=201, latency=0.01, time=t + 0.01)
        t += 0.05
    rej = h.invoke("reject", key="items", value=99, process=1, time=t)
    read = h.invoke("read", key="items", process=2, time=t + 0.01)
    h.complete(read, status=200, value=[1, 2, 3, 4, 5, 99], latency=0.02, time=t + 0.03)
    h.complete(rej, status=409, latency=0.05, time=t + 0.05)
    bad = h.invoke("read", key="items", process=3, time=t + 0.1)
    h.complete(bad, status=500, error=f"InvalidRequestError: {HOSTILE}", latency=1.5, time=t + 1.6)
    return h


def _arm(arm: str, history: History, final: dict) -> ArmResult:
    result = ArmResult("shared-session", arm, "staged", status="completed",
                       child={"final_state": final, "versions": {"fastapi": "0.1<b>", "sqlalchemy": "2.0"},
                              "database": {"backend": "sqlite", "label": HOSTILE, "driver": "pysqlite"},
                              "config": {"rounds": 1}, "server": {"kind": "asgi"}, "notes": [HOSTILE]})
    result.check = check(history, final)
    result.timeline = timeline_points(history)
    result.latency = {"count": len(result.timeline), "p50": 0.01, "p99": 1.5, "max": 1.5}
    return result


def _synthetic_result() -> report.StressResult:
    unsafe = _arm("unsafe", _planted_history(), {"items": [1, 2, 3, 4, 5, 99]})
    unsafe.symptoms = [Symptom("server_errors", "server errors (5xx / no answer)", 1, f"1 × {HOSTILE}")]
    clean = History()
    for value in range(1, 4):
        r = clean.invoke("append", key="items", value=value, process=0, time=value * 0.1)
        clean.complete(r, status=201, latency=0.004, time=value * 0.1 + 0.004)
    safe = _arm("safe", clean, {"items": [1, 2, 3]})
    return report.build_result([unsafe, safe], expect="demo", mode="staged", seed=7)


def test_html_report_is_self_contained_escaped_and_complete():
    result = _synthetic_result()
    page_text = render_html(result)
    page = _Page()
    page.feed(page_text)
    page.close()

    tags = {tag for tag, _ in page.tags}
    assert "script" not in tags and "link" not in tags and "img" not in tags and "iframe" not in tags
    for tag, attrs in page.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)  # no event handlers: no JS at all
            if name in ("href", "src", "xlink:href", "action", "srcset", "data"):
                assert value and value.startswith("#"), (tag, name, value)  # in-page anchors only
    assert "url(" not in page.style and "@import" not in page.style
    # Hostile strings arrive as text, never as markup.
    assert HOSTILE in "".join(page.text)
    assert "<script>alert" not in page_text and "&lt;script&gt;" in page_text

    # The same rows as the terminal table, both arms side by side, verdicts coloured.
    text = " ".join(page.text)
    for label, _ in report.scenario_rows(result.scenarios[0]):
        assert label in text, label
    verdict_cells = [(attrs.get("class"), body) for attrs, body in page.cells if "verdict" in (attrs.get("class") or "")]
    assert verdict_cells == [("verdict pass", result.scenarios[0].verdicts["unsafe"].text),
                             ("verdict pass", "clean")]
    assert any(attrs.get("class") == "nonzero" and body == "1" for attrs, body in page.cells)  # the aborted read
    for needle in ("request 7 read key 'items' and saw 99", "server errors (5xx / no answer)",
                   "fastapi 0.1<b>", "expectation", "Errors by type"):
        assert needle in text, needle

    # Plots: one dot per timeline point, coloured by outcome; one tick per anomaly time.
    circles = [attrs for tag, attrs in page.tags if tag == "circle"]
    unsafe, safe = result.scenarios[0].arms
    assert len(circles) == len(unsafe.timeline) + len(safe.timeline)
    assert {c["fill"] for c in circles} == {"#2e7d32", "#ef6c00", "#c62828"}  # ok, fail, info
    for c in circles:  # inside the drawing area
        assert 0 <= float(c["cx"]) <= 520 and 0 <= float(c["cy"]) <= 250
    ticks = [attrs for tag, attrs in page.tags if tag == "line" and attrs.get("stroke") == "#6a1b9a"]
    assert len(ticks) == sum(len(r.times) for r in unsafe.check.anomalies.values()) > 0
    assert text.count("no anomalies") == 1  # the safe arm's anomaly plot
    assert "no time" in text  # symptoms and final-state findings are listed, not plotted


def test_timeline_is_bounded_and_keeps_failures():
    h = History()
    for i in range(10_000):
        r = h.invoke("read", key="k", process=0, time=i * 0.001)
        if i % 200 == 0:
            h.complete(r, status=500, error="Boom: x", latency=0.5, time=i * 0.001 + 0.0005)
        else:
            h.complete(r, status=200, value=[], latency=0.001, time=i * 0.001 + 0.0005)
    points = timeline_points(h, limit=2000)
    assert len(points) == 2000
    assert sum(1 for p in points if p[2] == "info") == 50  # every failure kept
    assert points == sorted(points)
    assert points[0][0] < 0.01 and points[-1][0] > 9.9  # spread over the whole run
    assert timeline_points(_planted_history()) == sorted(timeline_points(_planted_history()))


# -- progress ----------------------------------------------------------------------------------


def test_progress_file_is_atomic_throttled_and_read_tolerantly(tmp_path):
    path = tmp_path / "p.json"
    assert read_progress(path) is None
    progress = ProgressFile(path)
    progress.phase("running")
    assert read_progress(path)["phase"] == "running"
    progress.update(sent=5)  # within the throttle interval: not written yet
    assert read_progress(path)["sent"] == 0
    progress.update(force=True, sent=6)
    assert read_progress(path)["sent"] == 6
    assert not list(tmp_path.glob("*.tmp"))
    path.write_text("{half a json")
    assert read_progress(path) is None
    ProgressFile(None).phase("running")  # disabled: writes nothing, raises nothing


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_display_shows_the_child_counts_on_a_terminal():
    from sessionlint.commands.stress import ProgressDisplay

    out = _Terminal()
    options = ArmOptions("shared-session", "safe", mode="load", requests=40, concurrency=4, duration=10, timeout=40)
    with ProgressDisplay(out, enabled=True) as display:
        with display.arm(options) as path:
            assert path is not None
            options.progress_path = path
            result = run_arm(options)
        assert read_progress(path)["phase"] == "done"
    assert result.completed, describe(result)
    shown = out.getvalue()
    assert "shared-session/safe (load)" in shown
    # Load mode's mix includes rejects, answered 409 by design (fail); nothing is indeterminate.
    final = re.findall(r"40/40 req · ok (\d+) fail (\d+) info 0", shown)
    assert final and sum(map(int, final[-1])) == 40, shown[-500:]


def test_no_progress_display_when_not_a_terminal(capsys):
    code = stress_cli("shared-session", "--arm", "safe", "--rounds", "1")
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    assert " req · ok " not in captured.out + captured.err
    assert "\x1b[" not in captured.out  # nothing drawn, no cursor movement


# -- uvicorn in the arm's process ------------------------------------------------------------


def test_uvicorn_mode_serves_over_tcp_keeps_barriers_and_stops():
    result = run_arm(ArmOptions("shared-session", "unsafe", mode="staged", rounds=2, duration=20, timeout=60,
                                server="uvicorn"))
    assert result.completed, describe(result)
    server = result.child["server"]
    assert server["kind"] == "uvicorn" and server["url"].startswith("http://127.0.0.1:")
    # uvicorn itself counted every request: they came over its socket, not ASGITransport.
    assert server["total_requests"] == result.check.ops == 6
    # The barriers still work in uvicorn mode: every round shows its anomalies.
    assert result.check.anomalies["aborted_write_persisted"].count == 2
    assert result.check.anomalies["aborted_read"].count >= 2
    assert result.child["staging"]["barrier_timeouts"] == []
    assert server["stopped"] is True and server["stop"] == "graceful" and server["port_free_after_stop"] is True
    port = int(server["url"].rsplit(":", 1)[1])
    assert not accepts_connections("127.0.0.1", port)
    # InstrumentedApp's in-flight count still sees the requests: it fell back to zero
    # (no "still in the app" note), and the pool probe ran on the app's engine.
    assert not any("still in the app" in note for note in result.child["notes"]), result.child["notes"]
    assert result.child["probes"]["pool_checked_out_at_quiescence"] in (0, 1)
    assert report.arm_verdict(result, "demo", ("session", "integrity")).passed


def test_uvicorn_server_is_stopped_on_error_and_startup_failure_is_reported():
    from contextlib import asynccontextmanager

    import anyio
    import httpx
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from sessionlint.harness.live import LiveServerError, uvicorn_server

    app = Starlette(routes=[Route("/", lambda request: PlainTextResponse("hi"))])
    seen = {}

    async def main() -> None:
        with pytest.raises(RuntimeError, match="boom"):
            async with uvicorn_server(app) as live:
                seen["live"] = live
                async with httpx.AsyncClient(trust_env=False) as client:
                    seen["answer"] = (await client.get(live.url + "/")).text
                raise RuntimeError("boom")

        @asynccontextmanager
        async def failing_lifespan(app):
            raise ValueError("no database")
            yield  # pragma: no cover

        broken = Starlette(lifespan=failing_lifespan)
        with pytest.raises(LiveServerError, match="startup failed"):
            async with uvicorn_server(broken):
                pass  # pragma: no cover

    anyio.run(main)
    live = seen["live"]
    assert seen["answer"] == "hi"
    assert live.info["stopped"] is True and live.info["total_requests"] == 1
    assert live.info["port_free_after_stop"] is True
    assert not accepts_connections("127.0.0.1", live.port)


# -- --url: a server the harness did not start --------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def running_safe_app(tmp_path):
    """The safe shared-session arm under uvicorn in its own process, on a free port; stopped after."""
    db = tmp_path / "app.db"
    env = dict(os.environ, SESSIONLINT_DATABASE_URL=f"sqlite:///{db}")
    process = port = None
    for _ in range(3):  # a port picked free can be taken before uvicorn binds it: retry
        port = _free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "sessionlint.sample_apps.shared_session.safe.main:app",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None and not accepts_connections("127.0.0.1", port):
            time.sleep(0.05)
        if process.poll() is None:
            break
    assert process.poll() is None and accepts_connections("127.0.0.1", port), process.stdout.read().decode()
    try:
        yield f"http://127.0.0.1:{port}", f"sqlite:///{db}", db, port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        process.stdout.close()
    assert not accepts_connections("127.0.0.1", port)


def test_url_mode_checks_the_final_state_through_the_servers_database(running_safe_app, tmp_path, capsys):
    url, database_url, db, port = running_safe_app
    html = tmp_path / "report.html"
    code = stress_cli("shared-session", "--url", url, "--arm", "safe", "--requests", "60", "--concurrency", "4",
                      "--database-url", database_url, "--json", "-", "--html", str(html))
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    (arm,) = json.loads(captured.out)["scenarios"][0]["arms"]
    assert arm["mode"] == "load" and arm["child"]["server"] == {"kind": "url", "url": url}
    assert arm["check"]["ops"] == 60 and arm["check"]["availability"] == 1.0
    assert arm["check"]["final_checked"] is True
    assert arm["check"]["anomalies"]["lost_write"]["checked"] is True
    assert arm["verdict"]["text"] == "clean"
    assert db.exists()  # the server's database is only read, never dropped
    assert "final state read from its database, read-only" in html.read_text()
    # A second run finds the data the first one left and refuses, instead of reporting garbage reads.
    code = stress_cli("shared-session", "--url", url, "--arm", "safe", "--requests", "10",
                      "--database-url", database_url, "--no-color")
    captured = capsys.readouterr()
    assert code == 1 and "already holds data" in captured.out


def test_url_mode_without_a_database_says_writes_were_not_checked(running_safe_app, capsys):
    url, _, _, _ = running_safe_app
    code = stress_cli("shared-session", "--url", url, "--arm", "safe", "--requests", "30", "--json", "-")
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    assert "NOT checked" in captured.err
    (arm,) = json.loads(captured.out)["scenarios"][0]["arms"]
    assert arm["check"]["final_checked"] is False
    assert arm["check"]["anomalies"]["lost_write"]["checked"] is False
    assert any("NOT checked" in note for note in arm["child"]["notes"])
    assert "not checked" in captured.err  # the table's lost-write row


def test_url_usage_errors(capsys):
    cases = [
        (("shared-session", "--url", "http://127.0.0.1:9", "--arm", "safe", "--mode", "staged"), "staged mode needs"),
        (("shared-session", "--url", "http://example.com:8000", "--arm", "safe"), "not a loopback address"),
        (("shared-session", "--url", "http://127.0.0.1:9"), "--arm unsafe or --arm safe"),
        (("--url", "http://127.0.0.1:9", "--arm", "safe"), "exactly one SCENARIO"),
        (("shared-session", "--url", "ftp://127.0.0.1", "--arm", "safe"), "not an http"),
        (("shared-session", "--url", "http://127.0.0.1:9", "--arm", "safe", "--server", "uvicorn"), "exclude each other"),
        (("shared-session", "--html", "/no/such/dir/r.html"), "does not exist"),
        # A host name that merely starts with "127." is not loopback (databases are dropped there).
        (("shared-session", "--database-url", "postgresql://u@127.example.com/db"), "not a loopback address"),
    ]
    for argv, message in cases:
        assert stress_cli(*argv) == 2, argv
        assert message in capsys.readouterr().err, argv
    assert check_target_url("http://[::1]:8000") is None and check_target_url("http://localhost:1") is None
    assert check_target_url("http://10.0.0.1:80", allow_remote=True) is None


def test_read_only_url_swaps_async_drivers_and_opens_sqlite_read_only(tmp_path):
    assert read_only_url("postgresql+asyncpg://u@127.0.0.1/db") == "postgresql+psycopg://u@127.0.0.1/db"
    assert read_only_url("mysql+aiomysql://u@127.0.0.1/db") == "mysql+pymysql://u@127.0.0.1/db"
    import sqlite3

    from sqlalchemy import create_engine, make_url, text

    path = tmp_path / "a.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE items (value INTEGER)")
    ro = make_url(read_only_url(f"sqlite+aiosqlite:///{path}"))
    assert ro.drivername == "sqlite" and ro.database == f"file:{path}"
    assert ro.query == {"mode": "ro", "uri": "true"}
    engine = create_engine(ro)
    try:
        with engine.connect() as connection, pytest.raises(Exception, match="readonly"):
            connection.execute(text("INSERT INTO items VALUES (1)"))
    finally:
        engine.dispose()
    with pytest.raises(ValueError, match="in-memory"):
        read_only_url("sqlite://")

