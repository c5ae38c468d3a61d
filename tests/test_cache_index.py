"""The cache index: one file, validated by `stat`, that lets a warm run read no
source and import no parser -- and that never serves stale results.

Each test compares against a run without cache: whatever the index holds, the
findings must be the ones a cold run gives.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

import sessionlint.lint_rules.cache as cache_module
import sessionlint.lint_rules.engine as engine
from sessionlint.lint_rules.discovery import DiscoveryOptions
from sessionlint.lint_rules.engine import LintRequest, lint
from sessionlint.lint_rules.registry import RuleInfo, all_rules, rule_catalog
from helpers import DB, write

ROUTES = """\
from fastapi import APIRouter, Depends

from .db import SessionLocal, get_db

router = APIRouter()
session = SessionLocal()


@router.get("/items")
def list_items(db=Depends(get_db)):
    return db.execute("select 1")
"""
# Mentions no screen token: only `make_session`, once db.py exports it, lets it through.
JOBS = "from app.db import make_session\n\nworker = make_session()\n"
PLAIN = "def add(a, b):\n    return a + b\n"
LONG_AGO = 1_600_000_000  # seconds: far outside the racy window


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "proj"
    write(root, {"app/__init__.py": "", "app/db.py": DB, "app/routes.py": ROUTES,
                 "app/jobs.py": JOBS, "app/plain.py": PLAIN})
    age(root)
    monkeypatch.chdir(root)
    return root


def age(root: Path, *names: str) -> None:
    """Give every file (or those named) an old mtime, as files in a real tree
    have.  (It changes their ctime, which the index checks too: an aged file is
    read and hashed again on the next run.)"""
    for path in [root / n for n in names] or root.rglob("*.py"):
        os.utime(path, ns=(LONG_AGO * 10**9, LONG_AGO * 10**9))


def run(root: Path, cache: Path | None, *paths: str, **kw):
    request = LintRequest(
        paths=[root / p for p in (paths or (".",))],
        root=root,
        selected=frozenset(all_rules()),
        discovery=DiscoveryOptions(root=root),
        cache_dir=cache,
        **kw,
    )
    return lint(request)


def outcome(report) -> tuple:
    findings = sorted((f.code, f.filename, f.span.row, f.span.column, f.message) for f in report.findings)
    return findings, sorted((e.filename, e.message) for e in report.errors), report.files_checked


def same_as_cold(root: Path, cache: Path, *paths: str):
    warm = run(root, cache, *paths)
    assert outcome(warm) == outcome(run(root, None, *paths))
    return warm


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    seen: list[str] = []
    real = engine.read_bytes

    def counting(path):
        seen.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(engine, "read_bytes", counting)
    return seen


def index_files(cache: Path) -> list[Path]:
    return sorted(cache.rglob("results-*.pickle"))


# -- a warm run ------------------------------------------------------------------------


def test_warm_run_alone_reads_nothing(project, tmp_path, reads):
    cache = tmp_path / "cache"
    run(project, cache)
    reads.clear()
    assert run(project, cache).files_parsed == 0
    assert reads == []


def test_warm_cli_run_imports_no_parser(project, tmp_path):
    """The whole point of the index: a warm `sessionlint` never loads LibCST."""
    cache = tmp_path / "cache"
    script = textwrap.dedent(
        f"""
        import sys
        from sessionlint.cli import main
        code = main(["check", "app", "--cache-dir", {str(cache)!r}])
        print(code, "libcst" in sys.modules)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    first = subprocess.run([sys.executable, "-c", script], cwd=project, capture_output=True, text=True, env=env)
    assert first.stdout.split()[-2:] == ["1", "True"], first.stderr
    second = subprocess.run([sys.executable, "-c", script], cwd=project, capture_output=True, text=True, env=env)
    assert second.stdout.split()[-2:] == ["1", "False"], second.stderr
    # the findings printed are the same
    assert first.stdout.splitlines()[:-1] == second.stdout.splitlines()[:-1]


# -- changes on disk -------------------------------------------------------------------


def test_changed_file_same_size_is_seen(project, tmp_path):
    cache = tmp_path / "cache"
    run(project, cache)
    routes = project / "app" / "routes.py"
    changed = ROUTES.replace("session = SessionLocal()", "session = SessionLocal  ")
    assert len(changed) == len(ROUTES)
    routes.write_text(changed)
    os.utime(routes, ns=(LONG_AGO * 10**9, (LONG_AGO + 5) * 10**9))
    report = same_as_cold(project, cache)
    assert report.files_parsed == 1
    assert not any(f.code == "SL001" and f.filename == "app/routes.py" for f in report.findings)


def test_touched_file_is_hashed_not_parsed(project, tmp_path, reads):
    cache = tmp_path / "cache"
    run(project, cache)
    routes = project / "app" / "routes.py"
    os.utime(routes, ns=(LONG_AGO * 10**9, (LONG_AGO + 60) * 10**9))
    reads.clear()
    report = run(project, cache)
    assert reads == ["routes.py"]
    assert report.files_parsed == 0


def test_change_within_one_mtime_tick_is_seen(project, tmp_path):
    """A file rewritten just after it was cached, with the same size and mtime
    (coarse timestamps, a fast editor): the index stored it unverified."""
    cache = tmp_path / "cache"
    routes = project / "app" / "routes.py"
    now = time.time_ns()
    os.utime(routes, ns=(now, now))
    run(project, cache)
    changed = ROUTES.replace("session = SessionLocal()", "session = SessionLocal  ")
    routes.write_text(changed)
    os.utime(routes, ns=(now, now))
    report = same_as_cold(project, cache)
    assert not any(f.code == "SL001" and f.filename == "app/routes.py" for f in report.findings)


def test_file_moved_over_a_cached_path_is_seen(project, tmp_path):
    """`mv` keeps the moved file's mtime: same size and mtime as the record of
    the path it lands on (files checked out in one tick), different content.
    The inode and ctime in the signature tell them apart."""
    cache = tmp_path / "cache"
    changed = ROUTES.replace("session = SessionLocal()", "session = SessionLocal  ")
    (project / "app" / "routes_v2.py").write_text(changed)
    age(project)  # both files: same size, same mtime
    run(project, cache)
    os.replace(project / "app" / "routes_v2.py", project / "app" / "routes.py")
    report = same_as_cold(project, cache)
    assert not any(f.code == "SL001" and f.filename == "app/routes.py" for f in report.findings)


def test_older_index_put_back_serves_nothing_stale(project, tmp_path):
    """Two runs at once (pre-commit): the last to write wins, so an index from
    before an edit can replace the one written after it.  Its records no longer
    match the edited file, which is read again."""
    cache = tmp_path / "cache"
    run(project, cache)
    (index,) = index_files(cache)
    before = index.read_bytes()
    routes = project / "app" / "routes.py"
    routes.write_text(ROUTES.replace("session = SessionLocal()", "session = None"))
    age(project)
    assert not any(f.filename == "app/routes.py" and f.code == "SL001" for f in same_as_cold(project, cache).findings)
    index.write_bytes(before)  # the other process's write lands last
    report = same_as_cold(project, cache)
    assert not any(f.filename == "app/routes.py" and f.code == "SL001" for f in report.findings)


def test_concurrent_runs_share_one_cache(project, tmp_path):
    """Several processes linting (and writing the index) at once: each prints
    the cold findings, and the index left behind is whole and usable."""
    cache = tmp_path / "cache"
    script = textwrap.dedent(
        f"""
        from sessionlint.cli import main
        raise SystemExit(main(["check", "app", "--cache-dir", {str(cache)!r}, "--output-format", "json"]))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    cold = subprocess.run([sys.executable, "-c", script.replace(f"{str(cache)!r}", "None").replace(
        '"--cache-dir", None', '"--no-cache"')], cwd=project, capture_output=True, text=True, env=env)
    procs = [subprocess.Popen([sys.executable, "-c", script], cwd=project, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(4)]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    for (out, err), proc in zip(outputs, procs):
        assert proc.returncode == cold.returncode == 1, err
        assert out == cold.stdout
    (index,) = index_files(cache)
    assert not list(index.parent.glob(".tmp-*"))  # no temporary file left behind
    warm = run(project, cache)
    assert warm.files_parsed == 0 and outcome(warm) == outcome(run(project, None))


def test_racy_window_counts_from_the_start_of_a_long_run(project, tmp_path, monkeypatch):
    """A file modified a second before a run that then takes 3 s: it was read in
    the same tick it may change again, so it is stored unverified (measured from
    when the index is written, it would look safely old)."""
    cache = tmp_path / "cache"
    start = time.time_ns()
    routes = project / "app" / "routes.py"
    os.utime(routes, ns=(start - 10**9, start - 10**9))
    clock = iter([start, start + 3 * 10**9])
    monkeypatch.setattr(cache_module, "time", SimpleNamespace(time_ns=lambda: next(clock)))  # this module's clock only
    run(project, cache)
    (index,) = index_files(cache)
    records = pickle.loads(index.read_bytes())["records"]
    assert records[str(routes)].signature is cache_module.UNVERIFIED
    assert records[str(project / "app" / "plain.py")].signature is not cache_module.UNVERIFIED


def test_deleted_file(project, tmp_path):
    cache = tmp_path / "cache"
    assert any(f.filename == "app/routes.py" for f in run(project, cache).findings)
    (project / "app" / "routes.py").unlink()
    report = same_as_cold(project, cache)
    assert not any(f.filename == "app/routes.py" for f in report.findings)


def test_deleted_outside_module(project, tmp_path):
    """Only jobs.py is linted; db.py comes in as context, then disappears."""
    cache = tmp_path / "cache"
    (project / "app" / "db.py").write_text(DB + "make_session = SessionLocal\n")
    age(project)
    assert any(f.code == "SL001" for f in same_as_cold(project, cache, "app/jobs.py").findings)
    (project / "app" / "db.py").unlink()
    assert not same_as_cold(project, cache, "app/jobs.py").findings


def test_unchanged_file_passes_screen_once_another_file_exports_its_name(project, tmp_path, reads):
    """jobs.py failed the screen and was never parsed; its record says which
    tokens it lacks.  When db.py starts exporting `make_session` as a session
    factory, the screen must look for that new token in jobs.py."""
    cache = tmp_path / "cache"
    (project / "app" / "db.py").write_text(DB + "make_session = dict\n")
    age(project)
    assert not any(f.filename == "app/jobs.py" for f in same_as_cold(project, cache).findings)
    (project / "app" / "db.py").write_text(DB + "make_session = SessionLocal\n")
    age(project, "app/db.py")
    reads.clear()
    report = run(project, cache)
    assert "jobs.py" in reads  # searched for the new token ...
    assert "plain.py" in reads and "routes.py" not in reads  # ... routes.py already passed
    assert ("SL001", "app/jobs.py") in {(f.code, f.filename) for f in report.findings}
    assert outcome(report) == outcome(run(project, None))


def test_new_init_changes_module_names(project, tmp_path):
    cache = tmp_path / "cache"
    write(project, {"lib/db.py": DB, "lib/routes.py": ROUTES.replace("from .db", "from lib.db")})
    age(project)
    same_as_cold(project, cache, "lib")
    (project / "lib" / "__init__.py").write_text("")
    assert same_as_cold(project, cache, "lib").files_parsed >= 2


# -- the index file itself -------------------------------------------------------------


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"\x80\x05garbage",
        pickle.dumps({"format": cache_module._FORMAT, "records": {"x": ("not", "a record")}}),
        pickle.dumps({"format": cache_module._FORMAT, "records": ["not", "a", "dict"]}),
        pickle.dumps({"format": -1, "records": {}}),
        pickle.dumps(["a", "list"]),
    ],
    ids=["empty", "garbage", "bad-record", "bad-records", "old-format", "not-a-dict"],
)
def test_corrupt_index_is_rebuilt(project, tmp_path, garbage):
    cache = tmp_path / "cache"
    expected = outcome(run(project, cache))
    (index,) = index_files(cache)
    index.write_bytes(garbage)
    report = run(project, cache)
    assert outcome(report) == expected
    assert report.files_parsed >= 2  # nothing usable was in it
    assert run(project, cache).files_parsed == 0  # and it was written afresh


def test_truncated_index_is_rebuilt(project, tmp_path):
    cache = tmp_path / "cache"
    expected = outcome(run(project, cache))
    (index,) = index_files(cache)
    index.write_bytes(index.read_bytes()[: index.stat().st_size // 2])
    assert outcome(run(project, cache)) == expected


def test_record_with_wrong_facts_type_is_dropped(project, tmp_path):
    cache = tmp_path / "cache"
    expected = outcome(run(project, cache))
    (index,) = index_files(cache)
    stored = pickle.loads(index.read_bytes())
    for record in stored["records"].values():
        record.facts = "not facts"
    index.write_bytes(pickle.dumps(stored))
    assert outcome(run(project, cache)) == expected


def test_new_version_or_analysis_code_starts_a_new_index(project, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    run(project, cache)
    monkeypatch.setattr(cache_module, "__version__", "99.0")
    report = run(project, cache)
    assert report.files_cached == 0 and report.files_parsed >= 2
    monkeypatch.setattr(cache_module, "_code_fingerprint", lambda: "edited")
    assert run(project, cache).files_cached == 0
    assert len(index_files(cache)) == 3


def test_unwritable_cache_still_lints(project, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert outcome(run(project, blocker / "cache")) == outcome(run(project, None))


# -- the rule table --------------------------------------------------------------------


def test_rule_catalog_matches_the_rules(tmp_path):
    expected = {code: RuleInfo.of(rule) for code, rule in all_rules().items()}
    assert rule_catalog(None) == expected
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "CACHEDIR.TAG").write_text("Signature: 8a477f597d28d172789f06886806bc55\n")
    (cache / cache_module.__version__).mkdir()
    assert rule_catalog(cache) == expected
    (stored,) = cache.rglob("rules-*.pickle")
    with pytest.MonkeyPatch.context() as patch:  # from the file: the rules are not consulted
        patch.setattr("sessionlint.lint_rules.registry.all_rules", lambda: pytest.fail("rules imported"))
        assert rule_catalog(cache) == expected
    stored.write_bytes(b"garbage")
    assert rule_catalog(cache) == expected  # rebuilt
    stored.write_bytes(pickle.dumps({"SL001": "not a rule"}))
    assert rule_catalog(cache) == expected


def test_records_of_deleted_files_are_dropped(project, tmp_path):
    cache = tmp_path / "cache"
    run(project, cache)
    (index,) = index_files(cache)
    plain = str(project / "app" / "plain.py")
    assert plain in pickle.loads(index.read_bytes())["records"]
    (project / "app" / "plain.py").unlink()
    (project / "app" / "routes.py").write_text(ROUTES + "# edited\n")  # something to save
    run(project, cache, "app/routes.py")  # a run that doesn't look at plain.py at all
    records = pickle.loads(index.read_bytes())["records"]
    assert plain not in records
    assert str(project / "app" / "jobs.py") in records  # still there: kept
