"""Tests of the benchmark's own machinery (not of sessionlint).

    .venv/bin/python -m pytest -q bench/test_bench.py

The Fixit and semgrep rule tests run only when `make bench` has installed the tools.
"""

from __future__ import annotations

import sys
import time
import zipfile
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import corpus  # noqa: E402
import measure  # noqa: E402
import rule_agreement  # noqa: E402
import screen_funnel  # noqa: E402
import tools  # noqa: E402

PY = sys.executable


def test_wall_time_and_exit_status():
    result = measure.measure([PY, "-c", "import time; time.sleep(0.3)"], 2, timeout=30)
    assert result.ok and len(result.runs) == 2
    assert 0.3 <= result.wall < 5


def test_peak_memory_sees_a_child_process_of_the_command():
    # The command's own process stays small; a grandchild allocates ~150 MiB.
    child = "x = bytearray(150 * 2**20); import time; time.sleep(0.5)"
    command = [PY, "-c", f"import subprocess, sys; subprocess.run([sys.executable, '-c', {child!r}])"]
    result = measure.measure(command, 1, timeout=30)
    assert result.peak_mib >= 150


def test_timeout_kills_the_whole_process_group(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    script = ("import subprocess, sys, time; "
              "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
              f"open({str(pid_file)!r}, 'w').write(str(p.pid)); time.sleep(60)")
    started = time.perf_counter()
    run = measure.run_once([PY, "-c", script], timeout=2)
    assert run.timed_out and run.returncode is None
    assert time.perf_counter() - started < 10
    grandchild = int(pid_file.read_text())
    deadline = time.perf_counter() + 5
    while Path(f"/proc/{grandchild}").exists() and time.perf_counter() < deadline:
        # Killed but maybe not reaped yet (its parent died too; init reaps it).
        if Path(f"/proc/{grandchild}/stat").read_text().split(")")[-1].split()[0] == "Z":
            break
        time.sleep(0.05)
    alive = Path(f"/proc/{grandchild}").exists() and \
        Path(f"/proc/{grandchild}/stat").read_text().split(")")[-1].split()[0] != "Z"
    assert not alive


def test_a_failing_command_is_an_error_not_a_timing():
    with pytest.raises(measure.CommandFailed, match="exited with status 3"):
        measure.measure([PY, "-c", "import sys; print('boom'); sys.exit(3)"], 3, timeout=30)


def test_unpack_takes_only_the_package_sources(tmp_path):
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("demo/__init__.py", "x = 1\n")
        archive.writestr("demo/sub/mod.py", "y = 2\n")
        archive.writestr("demo/_speedups.so", b"\0")
        archive.writestr("demo-1.0.dist-info/METADATA", "Name: demo\n")
    target = tmp_path / "out" / "demo"
    target.parent.mkdir()
    assert corpus._unpack(wheel, "demo", target)
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()) == \
        ["__init__.py", "sub/mod.py"]
    assert not corpus._unpack(wheel, "other", tmp_path / "out" / "other")


def test_extra_directories_are_copied_and_counted(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus, "fetch", lambda: [])
    monkeypatch.setattr(corpus, "pinned", lambda: [])
    source = tmp_path / "app"
    (source / "pkg").mkdir(parents=True)
    (source / "pkg" / "a.py").write_text("a = 1\nb = 2\n")
    (source / "pkg" / "__pycache__").mkdir()
    (source / "pkg" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    built = corpus.materialize(tmp_path / "corpus", [source, tmp_path / "missing"])
    assert built.files == 1 and built.lines == 2
    assert any("missing" in w for w in built.warnings)
    (built.dirs[0] / "pkg" / "a.py").write_text("changed\n")
    assert (source / "pkg" / "a.py").read_text() == "a = 1\nb = 2\n"  # a copy: the user's files are untouched


def test_screen_funnel_counts_what_each_screen_lets_through(tmp_path):
    (tmp_path / "prose.py").write_text('"""Each request gets its own Session."""\nx = 1\n')
    (tmp_path / "code.py").write_text("from sqlalchemy.orm import Session\n\n\ndef f(db: Session):\n    return db\n")
    (tmp_path / "plain.py").write_text("y = 2\n")
    result = screen_funnel.funnel([tmp_path])
    assert (result["files"], result["text_files"], result["identifier_files"]) == (3, 2, 1)
    assert result["identifier_lines"] == 5
    assert result["analyse_seconds"] >= result["build_seconds"] > 0 and result["libcst_seconds"] > 0


def test_expected_lines_read_the_fixture_markers():
    lines = rule_agreement.expected_lines("SL004")
    text = (rule_agreement.FIXTURES / "SL004.py").read_text().splitlines()
    assert lines and all("expect:" in text[n - 1] and "SL004" in text[n - 1] for n in lines)


def _tool(name: str) -> str:
    found = tools.setup(install=False)[name]
    if found.path is None:
        pytest.skip(f"{name} is not installed (make bench installs it)")
    return found.path


def test_semgrep_rules_find_most_fixture_positives():
    env = dict(tools.tool_env())
    for agreement in rule_agreement.semgrep(_tool("semgrep"), env):
        # Pattern matching cannot follow sessionlint's cross-file model; a third is the floor
        # below which the comparison would be of rules that do not do the same job.
        assert agreement.found >= agreement.expected / 3, agreement.describe()


def test_fixit_rule_passes_its_own_cases_and_finds_fixture_positives():
    import subprocess

    executable = _tool("fixit")
    env = dict(tools.tool_env(), PYTHONPATH=str(BENCH / "fixit_rules"))
    done = subprocess.run([executable, "test", "sessionlint_bench.close_not_in_finally"], capture_output=True,
                          text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    (agreement,) = rule_agreement.fixit(executable, env)
    assert agreement.found >= agreement.expected / 3, agreement.describe()
