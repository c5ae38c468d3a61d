"""Run one arm of one scenario in a child process, and judge it in the parent.

Parent (`run_arm`, `run_stress_matrix`):

1. makes a work directory and a fresh database for the arm -- a SQLite file in
   the work directory by default, or a new database on the server named by
   ``--database-url`` (PostgreSQL/MariaDB/MySQL), dropped afterwards;
2. starts ``python -m sessionlint.harness.runner --child SPEC`` in its own process
   group, with a hard timeout: on expiry the whole group is killed (SIGKILL) and the
   arm is reported as timed out;
3. survives the child dying -- a negative return code (SIGSEGV, SIGABRT, ...) is
   reported as "arm crashed: signal N (NAME)", never raised;
4. loads the child's result and history, runs the checker, and returns an
   `ArmResult`.

Child (`child_main`): builds the arm's app on the database, serves it (`live.serve`:
in-process through ASGITransport, running its lifespan itself, or with uvicorn on
127.0.0.1 in the same event loop), installs a `Stager` for staged mode, runs
the driver, lets go of every barrier and waits for quiescence, probes the pool
(connections checked out, connects), shuts the app down, reads the final state
through a fresh connection, and writes the history (JSONL) and a result JSON.
With ``url`` set (``--url``) the child drives a server it did not start instead
(`live.child_run_url`). While it runs it keeps a small progress file up to date
(`progress.ProgressFile`) for the parent's progress display.

Broken configurations can segfault CPython (harness-anchors §5.1), which is why the
app never runs in the process that reports on it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

CHILD_GRACE = 30.0  # seconds beyond the run's own time budget before the child is killed
QUIESCE_TIMEOUT = 2.0
INJECT = ("abort", "hang", "segfault")  # test hooks: make the child crash or hang on purpose


@dataclass
class ArmOptions:
    scenario: str
    arm: str
    mode: str = "staged"
    database_url: str | None = None
    requests: int = 500
    concurrency: int = 16
    duration: float = 10.0
    rounds: int = 5
    seed: int = 0
    request_timeout: float = 10.0
    barrier_timeout: float = 5.0
    block_window: float = 0.25
    timeout: float | None = None  # hard bound on the child; default duration + CHILD_GRACE
    inject: str | None = None
    history_path: str | None = None  # keep the JSONL history here (else it is deleted)
    server: str = "asgi"  # "asgi" (in-process ASGITransport) | "uvicorn" (real TCP on 127.0.0.1)
    url: str | None = None  # drive this running server instead (load mode; database_url: its database, read-only)
    progress_path: str | None = None  # the child keeps its progress (JSON) here for the parent to poll

    def hard_timeout(self) -> float:
        return self.timeout if self.timeout is not None else self.duration + CHILD_GRACE


@dataclass
class ArmResult:
    scenario: str
    arm: str
    mode: str
    status: str  # "completed" | "crashed" | "timeout" | "error"
    problem: str | None = None  # why the arm did not complete, in words
    returncode: int | None = None
    wall_time: float = 0.0
    child: dict[str, Any] = field(default_factory=dict)  # the child's own result JSON
    check: Any = None  # the checker's CheckResult (None when there is no history)
    check_error: str | None = None
    stderr_tail: str = ""
    history_path: str | None = None
    latency: dict[str, float] | None = None  # over every completed request: count, p50, p99, max (s)
    symptoms: list[Any] = field(default_factory=list)  # symptoms.Symptom found (of the scenario's SYMPTOMS)
    unchecked: dict[str, str] = field(default_factory=dict)  # declared symptoms whose probe failed -> error
    # (time, latency, type) of completions, at most TIMELINE_POINTS of them: the HTML report's plot
    timeline: list[tuple[float, float, str]] = field(default_factory=list)

    @property
    def completed(self) -> bool:
        return self.status == "completed"

    def to_json(self) -> dict[str, Any]:
        data = {
            "scenario": self.scenario,
            "arm": self.arm,
            "mode": self.mode,
            "status": self.status,
            "problem": self.problem,
            "returncode": self.returncode,
            "wall_time": round(self.wall_time, 4),
            "child": self.child,
            "check_error": self.check_error,
            "stderr_tail": self.stderr_tail,
            "history_path": self.history_path,
            "latency": self.latency,
            "symptoms": [symptom.to_json() for symptom in self.symptoms],
            "unchecked_symptoms": dict(self.unchecked),
            "timeline": [[round(t, 4), round(latency, 5), kind] for t, latency, kind in self.timeline],
        }
        data["check"] = check_to_json(self.check)
        return data


# -- parent ---------------------------------------------------------------------


def run_arm(options: ArmOptions) -> ArmResult:
    """Run one arm in a child process and check it. Never raises for the child's failures."""
    from . import scenarios

    scenario = scenarios.canonical(options.scenario)
    if options.inject is not None and options.inject not in INJECT:
        raise ValueError(f"inject must be one of {INJECT}")
    if options.server not in ("asgi", "uvicorn"):
        raise ValueError("server must be 'asgi' or 'uvicorn'")
    if options.url is not None and options.mode != "load":
        raise ValueError("a server outside the harness (url) can only be driven in load mode: "
                         "staged mode's barriers live in the app's process")
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix=f"sessionlint-stress-{scenario}-{options.arm}-"))
    result = ArmResult(scenario, options.arm, options.mode, status="error")
    database = None
    try:
        if options.url is None:
            database = provision_database(options.database_url, workdir, scenario, options.arm)
            database_url, database_label = database.url, database.label
        else:  # the server's own database, if named: read-only, never created or dropped
            database_url, database_label = options.database_url, "the target server's database"
        history_path = Path(options.history_path) if options.history_path else workdir / "history.jsonl"
        spec = {
            "scenario": scenario,
            "arm": options.arm,
            "mode": options.mode,
            "database_url": database_url,
            "database_label": database_label,
            "requests": options.requests,
            "concurrency": options.concurrency,
            "duration": options.duration,
            "rounds": options.rounds,
            "seed": options.seed,
            "request_timeout": options.request_timeout,
            "barrier_timeout": options.barrier_timeout,
            "block_window": options.block_window,
            "hard_timeout": options.hard_timeout(),
            "inject": options.inject,
            "history_path": str(history_path),
            "result_path": str(workdir / "result.json"),
            "server": options.server,
            "url": options.url,
            "progress_path": options.progress_path,
        }
        spec_path = workdir / "spec.json"
        spec_path.write_text(json.dumps(spec))
        _run_child(spec_path, workdir, options.hard_timeout(), result)
        result_path = workdir / "result.json"
        if result.status == "completed":
            if not result_path.is_file():
                result.status, result.problem = "error", "the arm's process exited without writing its result"
            else:
                result.child = json.loads(result_path.read_text())
                if result.child.get("error"):
                    result.status, result.problem = "error", result.child["error"]
        if history_path.is_file():
            _check_arm(result, history_path)
            if options.history_path:
                result.history_path = str(history_path)
    except Exception as exc:  # the harness's own failure for this arm: reported, not raised
        result.status, result.problem = "error", f"{type(exc).__name__}: {exc}"
    finally:
        if database is not None:
            drop_problem = database.drop()
            if drop_problem:
                if result.child is None:  # the child died before writing its result
                    result.child = {}
                result.child.setdefault("cleanup_errors", []).append(drop_problem)
        _rmtree(workdir)
        result.wall_time = time.perf_counter() - started
    return result


def _run_child(spec_path: Path, workdir: Path, hard_timeout: float, result: ArmResult) -> None:
    log_path = workdir / "child.log"
    env = dict(os.environ, PYTHONFAULTHANDLER="1", PYTHONUNBUFFERED="1")
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "sessionlint.harness.runner", "--child", str(spec_path)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its own process group: a timeout kills it and its children
        )
        try:
            returncode = process.wait(timeout=hard_timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            result.status = "timeout"
            result.problem = f"arm timed out: killed after {hard_timeout:g} s"
            result.returncode = process.returncode
        else:
            result.returncode = returncode
            if returncode == 0:
                result.status = "completed"
            elif returncode < 0:
                result.status = "crashed"
                result.problem = f"arm crashed: signal {-returncode} ({_signal_name(-returncode)})"
            else:
                result.status = "crashed"
                result.problem = f"arm's process exited with status {returncode}"
    result.stderr_tail = _tail(log_path)


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the group we created for this child only
    except ProcessLookupError:
        pass
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover - a process that survives SIGKILL
        pass


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return "unknown signal"


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return data[-limit:].decode("utf-8", "replace")


def _rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _check_arm(result: ArmResult, history_path: Path) -> None:
    from . import scenarios, symptoms
    from .checker import check
    from .history import History

    try:
        history = History.from_jsonl(history_path)
        final_state = result.child.get("final_state") if result.completed else None
        result.check = check(history, final_state)
        result.latency = _overall_latency(history)
        result.timeline = timeline_points(history)
        module = scenarios.load(result.scenario)
        wanted = tuple(getattr(module, "SYMPTOMS", ()))
        # A child that died after writing its history left no result (child is None):
        # its history is still checked, with no probes.
        probes = dict((result.child or {}).get("probes") or {})
        if "shared_sessions" in wanted:
            probes["session_identity_overlaps"] = symptoms.session_identity_overlaps(history)
            if result.child is not None:
                result.child.setdefault("probes", {})["session_identity_overlaps"] = probes["session_identity_overlaps"]
        evidence = symptoms.Evidence(
            result.check, probes,
            unrelated_p99_limit=getattr(module, "UNRELATED_P99_LIMIT", symptoms.DEFAULT_UNRELATED_P99_LIMIT))
        result.symptoms = symptoms.detect(wanted, evidence)
        result.unchecked = symptoms.unchecked(wanted, probes)
    except Exception as exc:
        result.check_error = f"{type(exc).__name__}: {exc}"


def _overall_latency(history) -> dict[str, float] | None:
    from .checker import LatencyStats

    stats = LatencyStats.of([e.latency for e in history if e.type != "invoke" and e.latency is not None])
    return None if stats is None else stats.to_dict()


TIMELINE_POINTS = 2000


def timeline_points(history, limit: int = TIMELINE_POINTS) -> list[tuple[float, float, str]]:
    """(completion time, latency, type) of the run's completions, at most `limit`, in time order.

    Longer runs are sampled evenly -- but ok and not-ok completions separately: a
    handful of failures among 100 000 requests is what a reader looks for, so they
    keep up to half the points before the ok ones are thinned.
    """
    points = [(e.time, e.latency, e.type) for e in history if e.type != "invoke" and e.latency is not None]
    return thin_timeline(points, limit)


def thin_timeline(points: list[tuple[float, float, str]], limit: int = TIMELINE_POINTS) -> list[tuple[float, float, str]]:
    """At most `limit` of `points` (time order kept): not-ok points keep up to half."""
    if len(points) <= limit:
        return points
    bad = [p for p in points if p[2] != "ok"]
    good = [p for p in points if p[2] == "ok"]
    bad = _evenly(bad, min(len(bad), limit // 2))
    good = _evenly(good, limit - len(bad))
    return sorted(bad + good)


def _evenly(items: list, count: int) -> list:
    if count >= len(items):
        return items
    if count <= 0:
        return []
    if count == 1:
        return [items[0]]
    step = (len(items) - 1) / (count - 1)
    return [items[round(i * step)] for i in range(count)]


def check_to_json(check: Any) -> Any:
    if check is None:
        return None
    for method in ("to_json", "to_dict", "as_dict"):
        if hasattr(check, method):
            return getattr(check, method)()
    from dataclasses import is_dataclass

    if is_dataclass(check):
        return asdict(check)
    return check


# -- databases --------------------------------------------------------------------


@dataclass
class Database:
    url: str
    label: str  # for the report: no password
    admin_url: str | None = None  # server databases: where to drop it from
    name: str | None = None
    backend: str = "sqlite"

    def drop(self) -> str | None:
        """Drop a server database this run created. Returns a problem, or None."""
        if self.admin_url is None or self.name is None:
            return None
        try:
            _server_ddl(self.admin_url, self.backend, f"DROP DATABASE IF EXISTS {self.name}")
        except Exception as exc:
            return f"could not drop database {self.name}: {type(exc).__name__}: {exc}"
        return None


def provision_database(url: str | None, workdir: Path, scenario: str, arm: str) -> Database:
    """A fresh, empty database for one arm.

    * None or a SQLite URL without a file (``sqlite://``, ``:memory:``): a SQLite
      file in the work directory (``:memory:`` would give each pool thread its own
      database);
    * a SQLite file URL: that file, which must not exist yet (it is deleted with
      the work directory only if it is inside it);
    * PostgreSQL / MySQL / MariaDB: a new database ``sessionlint_<random>`` on that
      server, created here and dropped after the run.
    """
    from sqlalchemy import make_url

    if url is None:
        path = workdir / "stress.db"
        return Database(f"sqlite:///{path}", "a temporary file per arm")
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            path = workdir / "stress.db"
            return Database(f"sqlite:///{path}", "a temporary file per arm")
        if Path(parsed.database).exists():
            raise ValueError(f"{parsed.database} exists; point --database-url at a new SQLite file or at a server")
        return Database(url, parsed.database)
    if backend not in ("postgresql", "mysql", "mariadb"):
        raise ValueError(f"unsupported database backend {backend!r} (use sqlite, postgresql, mysql or mariadb)")
    name = f"sessionlint_{scenario.replace('-', '_')}_{arm}_{uuid.uuid4().hex[:10]}"
    _server_ddl(url, backend, f"CREATE DATABASE {name}")
    run_url = parsed.set(database=name).render_as_string(hide_password=False)
    where = f"{parsed.host or 'localhost'}" + (f":{parsed.port}" if parsed.port else "")
    label = f"{where}, a new database per arm (dropped afterwards)"
    return Database(run_url, label, admin_url=url, name=name, backend=backend)


def _server_ddl(url: str, backend: str, statement: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            if backend == "postgresql" and statement.startswith("DROP DATABASE"):
                statement += " WITH (FORCE)"
            connection.execute(text(statement))
    finally:
        engine.dispose()


# -- child --------------------------------------------------------------------------


def child_main(spec_path: str) -> int:
    import faulthandler

    spec = json.loads(Path(spec_path).read_text())
    faulthandler.enable()
    # Dump every thread's stack shortly before the parent would kill us: the
    # report then shows *where* a hanging arm hangs.
    faulthandler.dump_traceback_later(max(1.0, spec["hard_timeout"] - 1.0), exit=False)
    if spec.get("inject") == "abort":
        os.abort()
    if spec.get("inject") == "segfault":
        import ctypes

        ctypes.string_at(0)  # reads address 0: SIGSEGV
    if spec.get("inject") == "hang":
        while True:  # the parent's hard timeout ends this
            time.sleep(1)
    result = {"error": None}
    try:
        import anyio

        if spec.get("url"):
            from .live import child_run_url

            result = anyio.run(child_run_url, spec)
        else:
            result = anyio.run(_child_run, spec)
    except BaseException as exc:  # reported to the parent, which decides what it means
        import traceback

        traceback.print_exc()
        result = {"error": f"{type(exc).__name__}: {exc}"}
    tmp = Path(spec["result_path"] + ".tmp")
    tmp.write_text(json.dumps(result, default=str))
    tmp.replace(spec["result_path"])
    faulthandler.cancel_dump_traceback_later()
    return 0


async def _child_run(spec: dict) -> dict:
    import warnings

    from sqlalchemy import create_engine, event
    from sqlalchemy.pool import NullPool, Pool

    from . import scenarios, staging
    from .driver import Driver, DriverConfig
    from .history import History
    from .live import serve
    from .progress import ProgressFile

    scenario = scenarios.load(spec["scenario"])
    arm = spec["arm"]
    progress = ProgressFile(spec.get("progress_path"))
    timings: dict[str, float] = {}
    notes: list[str] = []
    warning_counts: dict[str, int] = {}

    def count_warning(message, category, filename, lineno, file=None, line=None):
        key = f"{category.__name__}: {str(message).splitlines()[0][:160]}"
        warning_counts[key] = warning_counts.get(key, 0) + 1

    warnings.showwarning = count_warning
    warnings.simplefilter("always")

    connects = {"n": 0}

    def on_connect(dbapi_connection, connection_record):
        connects["n"] += 1

    event.listen(Pool, "connect", on_connect)

    config = DriverConfig(
        mode=spec["mode"],
        requests=spec["requests"],
        concurrency=spec["concurrency"],
        duration=spec["duration"],
        rounds=spec["rounds"],
        seed=spec["seed"],
        request_timeout=spec["request_timeout"],
        barrier_timeout=spec["barrier_timeout"],
        block_window=spec["block_window"],
    )
    stager = staging.Stager(timeout=config.barrier_timeout) if config.mode == "staged" else None
    staging.install(stager)
    probes: dict[str, Any] = {}
    t0 = time.perf_counter()
    app = scenario.create_app(arm, spec["database_url"])
    driver = None
    async with serve(app, spec.get("server", "asgi")) as served:
        timings["startup"] = time.perf_counter() - t0
        engine = getattr(getattr(app, "state", None), "engine", None)
        engine = getattr(engine, "sync_engine", engine)  # an AsyncEngine's pool lives on its sync engine
        connects_before = connects["n"]
        history = History()  # times count from here: the app is up, the run starts
        driver = Driver(served.app, history, config, stager=stager, base_url=served.base_url)
        driver.on_complete = progress.driver_stats
        progress.phase("running")
        t1 = time.perf_counter()
        try:
            if config.mode == "staged":
                await driver.run_staged(scenario.staged_round)
            else:
                await driver.run_load(scenario.load_op)
        finally:
            if stager is not None:
                stager.release_all()
            await driver.aclose()
        timings["drive"] = time.perf_counter() - t1
        progress.driver_stats(driver.stats)
        progress.phase("quiescing")
        # Quiescence: every request has returned (bounded: a request parked in the
        # app outlives its cancelled client only until its barrier or DB timeout).
        import anyio

        with anyio.move_on_after(QUIESCE_TIMEOUT) as quiet:
            while driver.app.in_flight:
                await anyio.sleep(0.005)
        if quiet.cancelled_caught:
            notes.append(f"{driver.app.in_flight} request(s) still in the app {QUIESCE_TIMEOUT:g} s after the run")
        probes["errors_after_response"] = errors_after_response(driver.app.errors, history)
        if engine is not None:
            probes.update(pool_probes(engine.pool))
        probes["connects_during_run"] = connects["n"] - connects_before
        probes.update(server_transaction_probes(spec["database_url"]))
        scenario_probe = getattr(scenario, "probe", None)
        if scenario_probe is not None:  # the scenario's own evidence, taken at quiescence
            extra = scenario_probe(app)
            if hasattr(extra, "__await__"):
                extra = await extra
            probes.update(extra or {})
        t2 = time.perf_counter()
    timings["shutdown"] = time.perf_counter() - t2
    event.remove(Pool, "connect", on_connect)
    probes["connects_total"] = connects["n"]
    staging.install(None)

    history.to_jsonl(spec["history_path"])

    progress.phase("final state")
    final_state = None
    final_state_error = None
    t3 = time.perf_counter()
    reader = create_engine(spec["database_url"], poolclass=NullPool)
    try:
        with reader.connect() as connection:
            final_state = scenario.read_final_state(connection)
        server_version = _server_version(reader)
    except Exception as exc:
        final_state_error = f"{type(exc).__name__}: {exc}"
        server_version = None
    finally:
        reader.dispose()
    timings["final_read"] = time.perf_counter() - t3
    timings["total"] = time.perf_counter() - t0

    stats = driver.stats if driver is not None else None
    progress.phase("done")
    return {
        "error": None,
        "scenario": spec["scenario"],
        "arm": arm,
        "mode": config.mode,
        "config": asdict(config),
        "server": served.info,
        "database": {
            "label": spec["database_label"],
            "backend": "mariadb" if getattr(reader.dialect, "is_mariadb", False) else reader.dialect.name,
            "name": spec["database_url"].rsplit("/", 1)[-1],
            "driver": reader.dialect.driver,
            "server_version": server_version,
        },
        "versions": versions(reader.dialect.driver),
        "final_state": final_state,
        "final_state_error": final_state_error,
        "probes": probes,
        "driver": asdict(stats) if stats is not None else None,
        "staging": _staging_summary(stager),
        "warnings": dict(sorted(warning_counts.items(), key=lambda kv: -kv[1])[:10]),
        "notes": notes + (stats.notes if stats is not None else []),
        "timings": {k: round(v, 4) for k, v in timings.items()},
    }


def errors_after_response(errors: dict[str, str], history) -> dict[str, Any]:
    """Exceptions the app raised for requests that had already been answered below 500.

    A background task or a teardown step fails after the response went out: the
    client saw success, so only the app's own exception tells. `errors` is what
    `InstrumentedApp` kept and the driver did not consume for a 5xx answer.
    """
    statuses = {event.request: event.status for event in history if event.type != "invoke"}
    late = []
    for request, error in errors.items():
        status = statuses.get(int(request)) if request.isdigit() else None
        if status is not None and status < 500:
            late.append((int(request), error))
    late.sort()
    by_type: dict[str, int] = {}
    for _, error in late:
        kind = error.split(":", 1)[0]
        by_type[kind] = by_type.get(kind, 0) + 1
    return {"count": len(late), "by_type": by_type,
            "examples": [f"request {request} (answered {statuses[request]}): {error}" for request, error in late[:3]]}


def pool_probes(pool) -> dict[str, Any]:
    """Checked-out connections now, and the pool's capacity when it has one.

    No ``pool_capacity`` for pools without a bound -- those without a size, and a
    QueuePool with ``max_overflow=-1`` (unlimited): `excess_connects` must not hold
    them to their ``pool_size``.
    """
    out: dict[str, Any] = {"pool_status": pool.status()}
    checkedout = getattr(pool, "checkedout", None)
    if checkedout is not None:
        out["pool_checked_out_at_quiescence"] = checkedout()
    size, overflow = getattr(pool, "size", None), getattr(pool, "_max_overflow", None)
    if callable(size) and isinstance(overflow, int) and overflow >= 0:
        out["pool_capacity"] = size() + overflow
    return out


def server_transaction_probes(url: str) -> dict[str, Any]:
    """Connections of this database sitting in an open transaction, as the server sees them.

    PostgreSQL: ``pg_stat_activity`` rows in state "idle in transaction"; MariaDB/MySQL:
    InnoDB transactions whose connection is idle (``Sleep``). SQLite has no server: {}.
    A probe that cannot run is recorded as an error string, never raised.
    """
    from sqlalchemy import create_engine, make_url, text
    from sqlalchemy.pool import NullPool

    backend = make_url(url).get_backend_name()
    if backend == "postgresql":
        query = ("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                 "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()")
        source = "pg_stat_activity"
    elif backend in ("mysql", "mariadb"):
        query = ("SELECT count(*) FROM information_schema.innodb_trx t JOIN information_schema.processlist p "
                 "ON t.trx_mysql_thread_id = p.id WHERE p.db = DATABASE() AND p.command = 'Sleep'")
        source = "information_schema.innodb_trx"
    else:
        return {}
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            rows = int(connection.execute(text(query)).scalar_one())
        return {"idle_in_transaction": rows, "idle_in_transaction_source": source}
    except Exception as exc:
        return {"idle_in_transaction_error": f"{type(exc).__name__}: {exc}"}
    finally:
        engine.dispose()


def _staging_summary(stager) -> dict | None:
    if stager is None:
        return None
    return {
        "barrier_timeout": stager.timeout,
        "barrier_timeouts": [t.describe() for t in stager.timeouts],
        "checkpoint_hits": sum(stager.hits.values()),
    }


def _server_version(engine) -> str:
    if engine.dialect.name == "sqlite":
        import sqlite3

        return sqlite3.sqlite_version
    info = engine.dialect.server_version_info
    return ".".join(str(part) for part in info) if info else "unknown"


def versions(driver: str | None = None) -> dict[str, str]:
    """Versions that change the results (record them in every report)."""
    import platform
    from importlib import metadata

    from sessionlint import __version__

    out = {"sessionlint": __version__, "python": platform.python_version()}
    for dist in ("fastapi", "starlette", "sqlalchemy", "httpx", "anyio"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    if driver:
        dist = {"pysqlite": None, "psycopg": "psycopg", "psycopg2": "psycopg2-binary", "pymysql": "PyMySQL",
                "mysqldb": "mysqlclient", "asyncpg": "asyncpg", "aiosqlite": "aiosqlite", "aiomysql": "aiomysql"}.get(driver, driver)
        if dist is None:
            import sqlite3

            out["driver"] = f"pysqlite (sqlite3 {sqlite3.sqlite_version})"
        else:
            try:
                out["driver"] = f"{driver} {metadata.version(dist)}"
            except metadata.PackageNotFoundError:
                out["driver"] = driver
    return out


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) == 2 and argv[0] == "--child":
        return child_main(argv[1])
    print("usage: python -m sessionlint.harness.runner --child SPEC.json  (run `sessionlint stress` instead)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
