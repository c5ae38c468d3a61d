"""The stress harness end to end on the shared-session scenario (SQLite; PostgreSQL/MariaDB when
$SESSIONLINT_TEST_POSTGRES_URL / $SESSIONLINT_TEST_MARIADB_URL point at a reachable server).

Staged mode forces the Hermitage interleaving "A flushes; B reads; C commits; A rolls back" with
barriers inside the sample app, so the unsafe arm must show its anomalies on *every* run and the
safe arm none. Arms run in child processes: a crash is reported, a hang is killed.

The arms of one module run concurrently (each is its own process), which keeps the file well
under a minute; everything is bounded by the harness's own timeouts.
"""

from __future__ import annotations

import argparse
import contextvars
import io
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")
pytest.importorskip("httpx")

from helpers import server_database_url  # noqa: E402

from sessionlint.harness import staging  # noqa: E402
from sessionlint.harness.report import arm_verdict, build_result, exit_code, render_plain  # noqa: E402
from sessionlint.harness.runner import ArmOptions, ArmResult, run_arm  # noqa: E402

UNSAFE_RUNS = 3
SESSION_ANOMALIES = ("aborted_read", "aborted_write_persisted", "lost_write", "intermediate_read",
                     "torn_write", "garbage_read", "duplicate_element")


def staged(arm: str, **kw) -> ArmOptions:
    options = dict(scenario="shared-session", arm=arm, mode="staged", rounds=5, duration=20, timeout=60)
    options.update(kw)
    return ArmOptions(**options)


@pytest.fixture(scope="module")
def sqlite_runs():
    """Three staged runs of the unsafe arm and one of the safe arm, concurrently."""
    jobs = [staged("unsafe", seed=i) for i in range(UNSAFE_RUNS)] + [staged("safe")]
    with ThreadPoolExecutor(len(jobs)) as pool:
        results = list(pool.map(run_arm, jobs))
    return {"unsafe": results[:UNSAFE_RUNS], "safe": results[UNSAFE_RUNS]}


def session_anomalies(result: ArmResult) -> int:
    return sum(result.check.anomalies[name].count for name in SESSION_ANOMALIES)


def describe(result: ArmResult) -> str:
    return f"{result.status} {result.problem} {result.check_error}\n{result.stderr_tail[-2000:]}"


def test_unsafe_arm_fails_on_every_staged_run(sqlite_runs):
    for result in sqlite_runs["unsafe"]:
        assert result.completed, describe(result)
        check = result.check
        assert check is not None, describe(result)
        # Every one of the 5 rounds shows both: B read A's flushed value (G1a), and C's commit
        # made A's rolled-back value durable.
        assert check.anomalies["aborted_read"].count >= 5
        assert check.anomalies["aborted_write_persisted"].count == 5
        assert check.availability == 1.0
        assert result.child["staging"]["barrier_timeouts"] == []
        verdict = arm_verdict(result, "demo", ("session", "integrity"))
        assert verdict.passed and verdict.outcome == "fails", verdict
        assert verdict.text.startswith("FAILS as expected (aborted read (G1a) ×")
        witness = check.anomalies["aborted_read"].witnesses[0].text
        assert "rolled back" in witness and "409" in witness


def test_safe_arm_is_clean_and_fully_available(sqlite_runs):
    result = sqlite_runs["safe"]
    assert result.completed, describe(result)
    check = result.check
    assert session_anomalies(result) == 0, check.summary()
    assert check.anomaly_count() == 0
    assert check.availability == 1.0
    assert check.ops == 15  # 5 rounds × (A reject, B read, C append)
    assert check.errors == []
    assert result.child["final_state"]["items"] == sorted(result.child["final_state"]["items"])
    assert len(result.child["final_state"]["items"]) == 5  # only C's appends
    assert result.child["probes"]["pool_checked_out_at_quiescence"] == 0
    assert arm_verdict(result, "demo").text == "clean"


def test_report_and_exit_code(sqlite_runs):
    arms = [sqlite_runs["unsafe"][0], sqlite_runs["safe"]]
    demo = build_result(arms, expect="demo")
    assert exit_code(demo) == 0
    clean = build_result(arms, expect="clean")
    assert exit_code(clean) == 1  # the unsafe arm is not clean
    assert [v.passed for v in clean.scenarios[0].verdicts.values()] == [False, True]
    # An unsafe arm alone that shows nothing would fail the demo: pretend the safe arm is "unsafe".
    swapped = ArmResult(**{**sqlite_runs["safe"].__dict__, "arm": "unsafe"})
    assert exit_code(build_result([swapped], expect="demo")) == 1

    payload = json.loads(json.dumps(demo.to_json(), default=str))
    assert payload["exit_code"] == 0 and payload["passed"] is True
    unsafe, safe = payload["scenarios"][0]["arms"]
    assert unsafe["verdict"]["outcome"] == "fails" and safe["verdict"]["text"] == "clean"
    assert unsafe["check"]["counts"]["aborted_read"] >= 5
    assert unsafe["child"]["versions"]["fastapi"] and unsafe["child"]["versions"]["sqlalchemy"]
    assert unsafe["child"]["database"]["backend"] == "sqlite"

    out = io.StringIO()
    render_plain(demo, out)
    text = out.getvalue()
    for needle in ("aborted read (G1a)", "availability", "FAILS as expected", "clean", "p50 / p99",
                   "fastapi 0.", "sqlalchemy 2.", "unsafe · aborted read (G1a)", "expectation"):
        assert needle in text, text


def test_child_crash_is_reported_not_fatal():
    results = {kind: run_arm(staged("unsafe", inject=kind)) for kind in ("abort", "segfault")}
    for kind, signame in (("abort", "SIGABRT"), ("segfault", "SIGSEGV")):
        result = results[kind]
        assert result.status == "crashed"
        assert result.returncode < 0
        assert signame in result.problem and result.problem.startswith("arm crashed: signal")
        verdict = arm_verdict(result, "demo")
        assert verdict.outcome == "inconclusive" and not verdict.passed
    assert "Fatal Python error" in results["segfault"].stderr_tail  # faulthandler's dump
    assert exit_code(build_result(list(results.values()))) == 1


def test_hanging_child_is_killed_within_the_bound():
    started = time.perf_counter()
    result = run_arm(staged("safe", inject="hang", timeout=2.0))
    elapsed = time.perf_counter() - started
    assert result.status == "timeout"
    assert result.problem == "arm timed out: killed after 2 s"
    assert elapsed < 5.0
    assert "Thread" in result.stderr_tail  # faulthandler dumped the stacks before the kill
    verdict = arm_verdict(result, "clean")
    assert verdict.outcome == "inconclusive" and verdict.text.startswith("inconclusive: arm timed out")


def test_low_availability_is_inconclusive_never_clean():
    from sessionlint.harness.checker import check
    from sessionlint.harness.history import History

    history = History()
    for i in range(10):
        request = history.invoke("read", key="items", process=i)
        if i == 0:
            history.complete(request, status=200, value=[])
        else:
            history.complete(request, status=500, error="PendingRollbackError: rolled back")
    result = ArmResult("shared-session", "safe", "load", status="completed", check=check(history, {"items": []}),
                       child={"final_state": {"items": []}})
    verdict = arm_verdict(result, "demo")
    assert verdict.outcome == "inconclusive" and "10 %" in verdict.text and not verdict.passed
    result.arm = "unsafe"
    assert not arm_verdict(result, "demo").passed  # errors alone are not the demo's failure either


def test_load_mode_safe_arm_is_clean():
    result = run_arm(ArmOptions("shared-session", "safe", mode="load", requests=150, concurrency=8,
                                duration=10, timeout=40))
    assert result.completed, describe(result)
    assert result.check.ops == 150
    assert result.check.anomaly_count() == 0 and result.check.availability == 1.0
    assert result.child["driver"]["stopped_by"] == "requests"


# -- staging primitives ---------------------------------------------------------------------


def test_checkpoint_is_a_no_op_without_a_stager():
    assert staging.installed() is None
    started = time.perf_counter()
    for _ in range(1000):
        staging.checkpoint("after_flush")
    assert time.perf_counter() - started < 0.5


def test_barrier_timeout_is_recorded_not_fatal():
    stager = staging.Stager(timeout=0.05)
    barrier = stager.arm("r1-A", "after_flush")
    staging.install(stager)
    try:
        token = staging._tag.set("r1-A")
        try:
            # As Starlette runs a def route: on a worker thread, in a copy of the request's context.
            context = contextvars.copy_context()
            thread = threading.Thread(target=context.run, args=(staging.checkpoint, "after_flush"))
            thread.start()
            thread.join(2)
            assert not thread.is_alive()
            staging.checkpoint("after_flush")  # one shot: a second hit passes straight through
        finally:
            staging._tag.reset(token)
    finally:
        staging.install(None)
    assert barrier.reached.is_set() and barrier.timed_out
    assert [t.describe() for t in stager.timeouts] == [
        "barrier 'after_flush' of 'r1-A' was not released within 0.05 s"]
    assert stager.hit_count("r1-A", "after_flush") == 2


# -- CLI (the subcommand's own parser; cli.py wires it in) ----------------------------------


def stress_cli(*argv: str) -> int:
    from sessionlint.commands.stress import add_stress_parser, run_stress

    parser = argparse.ArgumentParser(prog="sessionlint")
    add_stress_parser(parser.add_subparsers(dest="command"))
    return run_stress(parser.parse_args(["stress", *argv]))


def test_cli_list_and_usage_errors(capsys):
    assert stress_cli("--list") == 0
    assert "shared-session" in capsys.readouterr().out
    assert stress_cli("no-such-scenario") == 2
    assert "unknown scenario" in capsys.readouterr().err
    assert stress_cli("--database-url", "postgresql+psycopg://u@db.example.com/x") == 2
    assert "not a loopback address" in capsys.readouterr().err


def test_cli_expect_clean_fails_on_the_unsafe_arm_and_writes_json(capsys):
    code = stress_cli("shared_session", "--arm", "unsafe", "--rounds", "2", "--expect", "clean", "--json", "-", "--no-color")
    captured = capsys.readouterr()
    assert code == 1
    payload = json.loads(captured.out)
    (arm,) = payload["scenarios"][0]["arms"]
    assert arm["arm"] == "unsafe" and arm["check"]["counts"]["aborted_write_persisted"] == 2
    assert payload["exit_code"] == 1 and payload["expect"] == "clean"
    assert "FAILS" in captured.err  # the table goes to stderr when JSON goes to stdout


def test_stress_command_module_imports_nothing_heavy():
    import subprocess

    code = ("import sys, sessionlint.commands.stress; "
            "heavy = {'fastapi', 'sqlalchemy', 'httpx', 'anyio', 'rich'} & set(sys.modules); "
            "print(sorted(heavy)); sys.exit(bool(heavy))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


# -- server databases (make test / CI) -------------------------------------------------------


@pytest.mark.parametrize("variable", ["SESSIONLINT_TEST_POSTGRES_URL", "SESSIONLINT_TEST_MARIADB_URL"])
def test_staged_on_server_databases(variable):
    url = server_database_url(variable)
    with ThreadPoolExecutor(2) as pool:
        unsafe, safe = pool.map(run_arm, [staged("unsafe", database_url=url), staged("safe", database_url=url)])
    assert unsafe.completed and safe.completed, describe(unsafe) + describe(safe)
    assert unsafe.check.anomalies["aborted_read"].count >= 5
    assert unsafe.check.anomalies["aborted_write_persisted"].count == 5
    assert safe.check.anomaly_count() == 0 and safe.check.availability == 1.0
    name = unsafe.child["database"]["name"]
    assert name.startswith("sessionlint_shared_session_unsafe_")
    # The per-arm database was dropped.
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            left = connection.execute(text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": name}).scalar()
        else:
            left = connection.execute(text("SELECT count(*) FROM information_schema.schemata WHERE schema_name = :n"),
                                      {"n": name}).scalar()
    engine.dispose()
    assert left == 0


def test_history_dir_keeps_jsonl_and_elle_export(tmp_path, capsys):
    from sessionlint.harness.history import History

    code = stress_cli("shared-session", "--arm", "unsafe", "--rounds", "1", "--history-dir", str(tmp_path), "--no-color")
    capsys.readouterr()
    assert code == 0
    history = History.from_jsonl(tmp_path / "shared-session-unsafe.jsonl")
    assert len(history) == 6  # A reject, B read, C append: invoke + completion each
    edn = (tmp_path / "shared-session-unsafe.elle.edn").read_text().splitlines()
    assert edn and all(line.startswith("{:index ") for line in edn)
    assert any(":append \"items\"" in line for line in edn) and any(":r \"items\"" in line for line in edn)
