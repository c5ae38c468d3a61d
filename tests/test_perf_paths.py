"""Shortcuts the lint path takes for speed, each checked against the slow way.

`imported_modules` tries its patterns only where an import statement can start,
instead of scanning every byte; it must find at least what a full scan finds
(more is harmless: the screen merely looks at one more module).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sessionlint.lint_rules import engine
from sessionlint.lint_rules.engine import imported_modules

ROOT = Path(__file__).resolve().parent.parent


def full_scan(data: bytes, module: str, is_package: bool) -> set[str]:
    """The reference: both patterns over the whole file, as `finditer` sees it."""
    package = module if is_package else module.rpartition(".")[0]
    out: set[str] = set()
    for match in engine._FROM_IMPORT.finditer(data):
        engine._add_from_import(match, package, out)
    for match in engine._IMPORT.finditer(data):
        for word in engine._WORD.findall(match.group(1)):
            parts = word.decode("ascii", "replace").split(".")
            if parts[0] != "as":
                out.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return out


CASES = [
    b"import os\n",
    b"import os.path as p, sys\n",
    b"from . import db\nfrom ..core import (\n    a,\n    b as c,\n)\n",
    b"x = 1; import json\n",
    b"if True: import json; from a.b import c\n",
    b"try: from x import y\nexcept ImportError: import z\n",
    b"from a import \\\n    b\n",
    b"import a, \\\n    b\n",
    b"def f():\n    from .deep import thing  # comment\n",
    b"s = 'import os'\n\"\"\"\nfrom docs import example\n\"\"\"\n",
    b"reimport = 1\nimportlib = 2\nimported = 3\n",
    b"from a import b\r\nimport c\r\n",
    b"from a import b\rimport c\r",
    b"\xef\xbb\xbfimport bom\n",
    b"x: int = 3; import typed\n",
    b"import",
    b"",
]


@pytest.mark.parametrize("data", CASES)
@pytest.mark.parametrize("module, is_package", [("pkg.mod", False), ("pkg", True), ("", False)])
def test_finds_what_a_full_scan_finds(data, module, is_package):
    assert imported_modules(data, module, is_package) >= full_scan(data, module, is_package)


def test_same_as_full_scan_on_this_repository():
    files = [p for p in ROOT.rglob("*.py") if ".venv" not in p.parts and ".git" not in p.parts]
    assert len(files) > 50
    for path in files:
        data = path.read_bytes()
        assert imported_modules(data, "a.b.c", False) >= full_scan(data, "a.b.c", False), path


@pytest.mark.parametrize("count", [3, 40])  # one by one / regex first
def test_token_search_finds_every_token_present(count):
    from sessionlint.lint_rules.screen import TokenSearch

    tokens = ["Session", "AsyncSession", "sessionmaker", "async_sessionmaker"][: min(count, 4)]
    tokens += [f"name_{i}" for i in range(count - len(tokens))]
    search = TokenSearch(tokens)
    assert search.found_in(b"x = AsyncSession()") == ({"AsyncSession", "Session"} & set(tokens))
    assert search.found_in(b"async_sessionmaker") == ({"async_sessionmaker", "sessionmaker"} & set(tokens))
    assert search.found_in(b"nothing here") == frozenset()
    assert search.found_in(b"") == frozenset()
    if count > 4:
        assert search.found_in(b"name_1 name_12") == {"name_1", "name_12"}


# -- rules' screen patterns ------------------------------------------------------------

from sessionlint.lint_rules.discovery import DiscoveryOptions  # noqa: E402
from sessionlint.lint_rules.engine import LintRequest, lint  # noqa: E402
from sessionlint.lint_rules.registry import all_rules  # noqa: E402
from helpers import write  # noqa: E402


def lint_tree(root: Path, screen: bool = True):
    return lint(LintRequest(paths=[root], root=root, selected=frozenset(all_rules()),
                            discovery=DiscoveryOptions(root=root), screen=screen, jobs=1))


def summary(report) -> list[tuple]:
    return sorted((f.code, f.filename, f.span.row, f.message) for f in report.findings)


GATED = {
    # only SL014's token `declarative`, and neither of its spellings: not parsed
    "models.py": "from sqlalchemy.orm import declarative_base\n\nBase = declarative_base()\n",
    # `autocommit` only as an attribute, not a keyword argument: not parsed
    "flags.py": "def mode(conn):\n    return conn.autocommit\n",
    # the 1.x spelling: parsed, and SL014 fires
    "legacy.py": "from sqlalchemy.ext.declarative import declarative_base\n\nBase = declarative_base()\n",
    # a keyword argument: parsed, and SL014 fires
    "legacy_session.py": "from sqlalchemy.orm import sessionmaker\n\nSessionLocal = sessionmaker(autocommit=False)\n",
}


def test_files_with_only_gated_tokens_are_not_parsed(tmp_path, monkeypatch):
    root = write(tmp_path / "proj", GATED)
    monkeypatch.chdir(root)
    screened, unscreened = lint_tree(root), lint_tree(root, screen=False)
    assert summary(screened) == summary(unscreened)
    assert {f.filename for f in screened.findings if f.code == "SL014"} == {"legacy.py", "legacy_session.py"}
    assert screened.files_parsed == 2 and unscreened.files_parsed == 4


def test_gated_token_that_is_an_exported_session_name_opens_the_file(tmp_path, monkeypatch):
    """`declarative` is SL014's token; here it is also a session factory another
    module exports, so a file using it must be parsed like any other."""
    root = write(tmp_path / "proj", {
        "app/__init__.py": "",
        "app/db.py": "from sqlalchemy.orm import sessionmaker\n\ndeclarative = sessionmaker()\n",
        "app/jobs.py": "from app.db import declarative\n\nworker = declarative()\n",
    })
    monkeypatch.chdir(root)
    screened, unscreened = lint_tree(root), lint_tree(root, screen=False)
    assert summary(screened) == summary(unscreened)
    assert ("SL001", "app/jobs.py") in {(f.code, f.filename) for f in screened.findings}


def test_screen_patterns_compile_and_reach_the_catalog():
    import re

    from sessionlint.lint_rules.registry import rule_catalog

    catalog = rule_catalog(None)
    for code, rule in all_rules().items():
        for pattern in rule.screen_patterns:
            re.compile(pattern)
        assert catalog[code].screen_patterns == tuple(rule.screen_patterns)
    assert any(rule.screen_patterns for rule in all_rules().values())


def sample_findings(jobs: int) -> list[tuple]:
    """Every finding (with its fix) on the sample apps and the rule fixtures."""
    paths = [ROOT / "sample_apps", ROOT / "tests" / "fixtures" / "rules"]
    report = lint(LintRequest(paths=paths, root=ROOT, selected=frozenset(all_rules()),
                              discovery=DiscoveryOptions(root=ROOT), jobs=jobs))
    return sorted((f.code, f.filename, f.span.row, f.span.column, f.message, str(f.fix)) for f in report.findings)


def test_worker_processes_find_what_one_process_finds(monkeypatch):
    """The process pool (biggest files first, facts pickled back) must give the
    findings a single process gives: forced on for the sample apps and rule
    fixtures, which are normally too small to be worth a pool."""
    pools = []
    real_pool = engine._analyse_in_pool

    def counting_pool(batch, workers, names, exact):
        pools.append(len(batch))
        return real_pool(batch, workers, names, exact)

    monkeypatch.setattr(engine, "_analyse_in_pool", counting_pool)
    monkeypatch.setattr(engine, "PARALLEL_MIN_SAVED_BYTES", 0)
    monkeypatch.chdir(ROOT)
    alone = sample_findings(1)
    assert not pools
    pooled = sample_findings(2)
    assert pools and max(pools) > 10  # the first round went through the pool
    assert pooled == alone
    assert len(alone) > 50


def test_workers_started_before_the_screen_find_what_one_process_finds(monkeypatch):
    """Started early (a large tree awaits analysis), the workers import the
    analysis code themselves and take every batch, the exact re-analysis of
    files with findings included: the same findings and fixes as one process."""
    started = []
    real_start = engine._Workers.start

    def recording_start(self, early=False):
        started.append(early)
        return real_start(self, early)

    monkeypatch.chdir(ROOT)
    alone = sample_findings(1)
    monkeypatch.setattr(engine._Workers, "start", recording_start)
    monkeypatch.setattr(engine, "EARLY_WORKERS_MIN_BYTES", 0)
    assert sample_findings(2) == alone
    assert started and started[0] is True


def test_workers_started_early_for_nothing_are_stopped_at_once(tmp_path, monkeypatch):
    """Nothing passes the screen: the early workers are terminated, not waited for."""
    import time

    from sessionlint.lint_rules.discovery import DiscoveryOptions
    from sessionlint.lint_rules.engine import LintRequest, lint
    from sessionlint.lint_rules.registry import all_rules

    for index in range(3):
        (tmp_path / f"plain{index}.py").write_text("x = 1\n")

    def slow_worker_init():
        time.sleep(30)  # would hold up the run if the workers were waited for

    started = []
    real_start = engine._Workers.start

    def recording_start(self, early=False):
        started.append(early)
        return real_start(self, early)

    monkeypatch.setattr(engine, "EARLY_WORKERS_MIN_BYTES", 0)
    monkeypatch.setattr(engine, "_worker_init", slow_worker_init)
    monkeypatch.setattr(engine._Workers, "start", recording_start)
    begin = time.monotonic()
    report = lint(LintRequest(paths=[tmp_path], root=tmp_path, selected=frozenset(all_rules()),
                              discovery=DiscoveryOptions(root=tmp_path), jobs=2))
    assert started == [True]  # the workers did start, early
    assert report.files_checked == 3 and not report.findings and not report.errors
    assert time.monotonic() - begin < 10
