"""The `sessionlint` command line, end to end, on small scratch projects.

Most tests run the CLI in-process (`run_cli` from conftest.py); one runs
`python -m sessionlint` in a subprocess.  The output formats themselves are tested
in test_output_formats.py; here we only check that each one works end to end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sessionlint import __version__
from helpers import write

BAD = (
    "from fastapi import FastAPI\n"
    "from sqlalchemy.orm import sessionmaker\n"
    "SessionLocal = sessionmaker()\n"
    "db = SessionLocal()\n"
)
GOOD = "from sqlalchemy.orm import sessionmaker\nSessionLocal = sessionmaker()\n"
SL001_LINE = "pkg/bad.py:4:6: SL001 "




@pytest.fixture
def project(tmp_path: Path) -> Path:
    """pkg/bad.py (SL001 at 4:6) and pkg/good.py (clean)."""
    return write(tmp_path, {"pkg/bad.py": BAD, "pkg/good.py": GOOD})


def finding_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if ": SL0" in line]


# -- default command ------------------------------------------------------------------


def test_bare_paths_mean_check(run_cli, project):
    code1, out1, err1 = run_cli("pkg", "--no-cache", cwd=project)
    code2, out2, err2 = run_cli("check", "pkg", "--no-cache", cwd=project)
    assert (code1, out1, err1) == (code2, out2, err2)
    assert code1 == 1
    assert finding_lines(out1) == [line for line in out1.splitlines() if line.startswith(SL001_LINE)]
    assert len(finding_lines(out1)) == 1
    assert "Found 1 error." in out1.splitlines()


def test_no_paths_lints_cwd(run_cli, project):
    code, out, _ = run_cli("--no-cache", cwd=project)
    assert code == 1
    assert SL001_LINE in out


def test_options_before_path(run_cli, project):
    code, out, _ = run_cli("--select", "SL001", "--no-cache", "pkg", cwd=project)
    assert code == 1 and SL001_LINE in out


# -- rule selection -------------------------------------------------------------------


@pytest.mark.parametrize(
    "selector",
    ["SL001", "sl001", "global-session", "GLOBAL-SESSION", "SL00", "SL0", "SL", "ALL", "all",
     "SL002,SL001", "SL002, global-session", " SL001 "],
)
def test_select_that_includes_sl001(run_cli, project, selector):
    code, out, err = run_cli("pkg", "--no-cache", "--select", selector, cwd=project)
    assert (code, err) == (1, "")
    assert len(finding_lines(out)) == 1 and SL001_LINE in out


@pytest.mark.parametrize("selector", ["SL002", "SL002,SL003", "session-not-closed", "SL006"])
def test_select_that_excludes_sl001(run_cli, project, selector):
    code, out, err = run_cli("pkg", "--no-cache", "--select", selector, cwd=project)
    assert (code, err) == (0, "")
    assert finding_lines(out) == []
    assert "All checks passed!" in out


@pytest.mark.parametrize("selector", ["SL001", "global-session", "SL00", "SL", "ALL", "SL003,SL001"])
def test_ignore(run_cli, project, selector):
    code, out, _ = run_cli("pkg", "--no-cache", "--ignore", selector, cwd=project)
    assert code == 0 and finding_lines(out) == []


def test_ignore_beats_select(run_cli, project):
    code, out, _ = run_cli("pkg", "--no-cache", "--select", "ALL", "--ignore", "global-session", cwd=project)
    assert code == 0 and finding_lines(out) == []


@pytest.mark.parametrize("selector", ["SL001", "global-session", "SL00"])
def test_extend_select_adds_to_select(run_cli, project, selector):
    code, out, _ = run_cli("pkg", "--no-cache", "--select", "SL002", "--extend-select", selector, cwd=project)
    assert code == 1 and SL001_LINE in out


def test_extend_select_adds_to_configured_select(run_cli, project):
    write(project, {"pyproject.toml": '[tool.sessionlint]\nselect = ["SL002"]\n'})
    assert run_cli("pkg", "--no-cache", cwd=project)[0] == 0
    code, out, _ = run_cli("pkg", "--no-cache", "--extend-select", "SL001", cwd=project)
    assert code == 1 and SL001_LINE in out
    # --select replaces the configured set
    code, out, _ = run_cli("pkg", "--no-cache", "--select", "global-session", cwd=project)
    assert code == 1 and SL001_LINE in out


def test_repeated_selector_options_accumulate(run_cli, project):
    code, out, _ = run_cli("pkg", "--no-cache", "--ignore", "SL002", "--ignore", "SL001", cwd=project)
    assert code == 0 and finding_lines(out) == []


@pytest.mark.parametrize(
    "option,selector",
    [("--select", "SL999"), ("--select", "SL001,bogus"), ("--ignore", "not-a-rule"),
     ("--extend-select", "XY1"), ("--select", "SL0011")],
)
def test_unknown_rule_is_a_usage_error(run_cli, project, option, selector):
    code, out, err = run_cli("pkg", "--no-cache", option, selector, cwd=project)
    assert code == 2
    assert out == ""
    bad = [part.strip() for part in selector.split(",") if part.strip() not in ("SL001",)][0]
    assert "unknown rule selector" in err and repr(bad) in err
    assert "SL001 (global-session)" in err  # lists what is known
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


# -- output formats -------------------------------------------------------------------


def test_output_format_json(run_cli, project):
    code, out, err = run_cli("pkg", "--no-cache", "--output-format", "json", cwd=project)
    assert (code, err) == (1, "")
    data = json.loads(out)
    assert [(d["code"], d["name"], d["filename"], d["location"]) for d in data] == [
        ("SL001", "global-session", "pkg/bad.py", {"row": 4, "column": 6})
    ]


def test_output_format_json_clean(run_cli, project):
    code, out, _ = run_cli("pkg/good.py", "--no-cache", "--output-format", "json", cwd=project)
    assert code == 0 and json.loads(out) == []


def test_output_format_sarif(run_cli, project):
    code, out, _ = run_cli("pkg", "--no-cache", "--output-format", "sarif", cwd=project)
    assert code == 1
    data = json.loads(out)
    assert data["version"] == "2.1.0"
    results = data["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["SL001"]
    region = results[0]["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (4, 6)


def test_output_format_github(run_cli, project):
    code, out, _ = run_cli("pkg", "--no-cache", "--output-format", "github", cwd=project)
    assert code == 1
    lines = out.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("::error ") and "file=pkg/bad.py,line=4,col=6" in lines[0] and "SL001" in lines[0]


def test_output_format_junit(run_cli, project):
    code, out, _ = run_cli("pkg", "--no-cache", "--output-format", "junit", cwd=project)
    assert code == 1
    root = ET.fromstring(out.encode())
    cases = root.findall(".//testcase")
    assert len(cases) == 1
    assert cases[0].get("classname") == "pkg/bad.py" and cases[0].find("failure") is not None


def test_output_format_from_env(run_cli, project, monkeypatch):
    monkeypatch.setenv("SESSIONLINT_OUTPUT_FORMAT", "json")
    code, out, _ = run_cli("pkg", "--no-cache", cwd=project)
    assert code == 1 and json.loads(out)[0]["code"] == "SL001"


def test_unknown_output_format_is_usage_error(run_cli, project):
    code, out, err = run_cli("pkg", "--no-cache", "--output-format", "xml", cwd=project)
    assert code == 2 and out == "" and "xml" in err


def test_statistics(run_cli, project):
    write(project, {"pkg/bad2.py": BAD})
    code, out, _ = run_cli("pkg", "--no-cache", "--statistics", cwd=project)
    assert code == 1
    assert out.splitlines() == ["2\tSL001\tglobal-session"]


def test_statistics_clean_prints_nothing(run_cli, project):
    code, out, _ = run_cli("pkg/good.py", "--no-cache", "--statistics", cwd=project)
    assert (code, out) == (0, "")


def test_show_source(run_cli, project):
    code, out, _ = run_cli("pkg", "--no-cache", "--show-source", cwd=project)
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith(SL001_LINE)
    assert "4 | db = SessionLocal()" in out
    caret = next(line for line in lines if "^" in line)
    # the carets start under column 6 of the source line ("  |" gutter + " ")
    source = next(line for line in lines if line.startswith("4 | "))
    assert caret.index("^") == source.index("SessionLocal()")
    assert caret.count("^") == len("SessionLocal()")
    code, out, _ = run_cli("pkg", "--no-cache", cwd=project)
    assert "^" not in out


def test_exit_zero(run_cli, project):
    code, out, _ = run_cli("pkg", "--no-cache", "--exit-zero", cwd=project)
    assert code == 0 and SL001_LINE in out
    code, out, _ = run_cli("pkg", "--no-cache", "-e", cwd=project)
    assert code == 0 and SL001_LINE in out


def test_output_file(run_cli, project):
    code, out, err = run_cli("pkg", "--no-cache", "-o", "report.json", "--output-format", "json", cwd=project)
    assert (code, out, err) == (1, "", "")
    assert json.loads((project / "report.json").read_text())[0]["code"] == "SL001"
    code, out, _ = run_cli("pkg", "--no-cache", "--output-file", "report.txt", cwd=project)
    assert (code, out) == (1, "")
    text = (project / "report.txt").read_text()
    assert SL001_LINE in text and "\x1b[" not in text


# -- cache ----------------------------------------------------------------------------


def test_default_cache_dir(run_cli, project):
    assert run_cli("pkg", cwd=project)[0] == 1
    cache = project / ".sessionlint_cache"
    assert (cache / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert list(cache.rglob("*.pickle"))
    # the cache is not linted and is git-ignored
    assert (cache / ".gitignore").read_text().strip().endswith("*")
    code, out, _ = run_cli(cwd=project)
    assert code == 1 and finding_lines(out) == [line for line in out.splitlines() if line.startswith(SL001_LINE)]


def test_no_cache_writes_nothing(run_cli, project):
    before = sorted(p.relative_to(project) for p in project.rglob("*"))
    code, out, _ = run_cli("pkg", "--no-cache", cwd=project)
    assert code == 1 and SL001_LINE in out
    assert sorted(p.relative_to(project) for p in project.rglob("*")) == before


def test_cache_dir_option(run_cli, project, tmp_path_factory):
    cache = tmp_path_factory.mktemp("elsewhere") / "my cache"
    code, out, _ = run_cli("pkg", "--cache-dir", str(cache), cwd=project)
    assert code == 1 and SL001_LINE in out
    assert (cache / "CACHEDIR.TAG").is_file()
    assert (cache / __version__).is_dir() and list((cache / __version__).glob("results-*.pickle"))
    assert not (project / ".sessionlint_cache").exists()
    # warm run from that cache: same result
    code2, out2, _ = run_cli("pkg", "--cache-dir", str(cache), cwd=project)
    assert (code2, out2) == (code, out)


def test_cache_dir_from_env(run_cli, project, tmp_path_factory, monkeypatch):
    cache = tmp_path_factory.mktemp("envcache")
    monkeypatch.setenv("SESSIONLINT_CACHE_DIR", str(cache))
    assert run_cli("pkg", cwd=project)[0] == 1
    assert (cache / "CACHEDIR.TAG").is_file()
    assert not (project / ".sessionlint_cache").exists()


def test_cache_dir_from_config_relative_to_config(run_cli, project):
    write(project, {"pyproject.toml": '[tool.sessionlint]\ncache-dir = "build/slcache"\n'})
    assert run_cli(".", cwd=project / "pkg")[0] == 1
    assert (project / "build" / "slcache" / "CACHEDIR.TAG").is_file()


def test_corrupt_cache_is_a_cold_run(run_cli, project):
    cache = project / "c"
    assert run_cli("pkg", "--cache-dir", str(cache), cwd=project)[0] == 1
    for pickle_file in cache.rglob("*.pickle"):
        pickle_file.write_bytes(b"\x80\x04garbage")
    code, out, err = run_cli("pkg", "--cache-dir", str(cache), cwd=project)
    assert (code, err) == (1, "") and SL001_LINE in out


def test_unwritable_cache_dir_still_lints(run_cli, project):
    blocker = project / "not-a-dir"
    blocker.write_text("")
    code, out, err = run_cli("pkg", "--cache-dir", str(blocker / "cache"), cwd=project)
    assert code == 1 and SL001_LINE in out and err == ""


# -- config file, version -------------------------------------------------------------


def test_config_option(run_cli, project, tmp_path_factory):
    other = tmp_path_factory.mktemp("cfg")
    config = write(other, {"sl.toml": 'ignore = ["SL001"]\n'}) / "sl.toml"
    # `--config` takes a sessionlint.toml-style file (top-level keys) ...
    config = config.rename(other / "sessionlint.toml")
    code, out, _ = run_cli("pkg", "--no-cache", "--config", str(config), cwd=project)
    assert code == 0 and finding_lines(out) == []
    # ... or a pyproject.toml, which wins over the one found by walking up
    write(project, {"pyproject.toml": '[tool.sessionlint]\nselect = ["SL002"]\n'})
    pyproject = write(other, {"pyproject.toml": '[tool.sessionlint]\nselect = ["SL001"]\n'}) / "pyproject.toml"
    assert run_cli("pkg", "--no-cache", cwd=project)[0] == 0
    code, out, _ = run_cli("pkg", "--no-cache", "--config", str(pyproject), cwd=project)
    assert code == 1 and SL001_LINE in out


def test_config_option_missing_file(run_cli, project):
    code, out, err = run_cli("pkg", "--no-cache", "--config", "nope.toml", cwd=project)
    assert code == 2 and out == "" and "nope.toml" in err


def test_version(run_cli):
    code, out, err = run_cli("--version")
    assert code == 0
    assert out.strip() == f"sessionlint {__version__}"


def test_help(run_cli):
    code, out, _ = run_cli("--help")
    assert code == 0 and "check" in out
    code, out, _ = run_cli("check", "--help")
    assert code == 0 and "--select" in out and "--stdin-filename" in out


def test_rule_command(run_cli):
    code, out, _ = run_cli("rule", "SL001")
    assert code == 0 and "global-session" in out
    code, out, _ = run_cli("rule", "close-not-in-finally", "--output-format", "json")
    assert code == 0 and json.loads(out)["code"] == "SL004"
    code, out, err = run_cli("rule", "SL999")
    assert code == 2 and "SL999" in err


# -- stdin ----------------------------------------------------------------------------


def test_stdin_with_filename(run_cli, project):
    code, out, _ = run_cli("-", "--stdin-filename", "app/routes.py", cwd=project, stdin=BAD.encode())
    assert code == 1
    assert finding_lines(out) == [line for line in out.splitlines() if line.startswith("app/routes.py:4:6: SL001 ")]
    assert len(finding_lines(out)) == 1


def test_stdin_without_filename(run_cli, project):
    code, out, _ = run_cli("-", "--no-cache", cwd=project, stdin=BAD.encode())
    assert code == 1
    assert out.splitlines()[0].startswith("-:4:6: SL001 ")


def test_stdin_clean(run_cli, project):
    code, out, _ = run_cli("-", cwd=project, stdin=GOOD.encode())
    assert code == 0 and "All checks passed!" in out


def test_stdin_json_and_show_source(run_cli, project):
    code, out, _ = run_cli("-", "--stdin-filename", "x.py", "--output-format", "json", cwd=project, stdin=BAD.encode())
    assert code == 1 and json.loads(out)[0]["filename"] == "x.py"
    code, out, _ = run_cli("-", "--stdin-filename", "x.py", "--show-source", cwd=project, stdin=BAD.encode())
    assert code == 1 and "4 | db = SessionLocal()" in out


def test_stdin_does_not_write_cache(run_cli, project):
    run_cli("-", "--stdin-filename", "x.py", cwd=project, stdin=BAD.encode())
    assert not (project / ".sessionlint_cache").exists()


def test_stdin_filename_gets_per_file_ignores(run_cli, project):
    write(project, {"pyproject.toml": '[tool.sessionlint]\nper-file-ignores = {"scripts/*" = ["SL001"]}\n'})
    code, _, _ = run_cli("-", "--stdin-filename", "scripts/one.py", cwd=project, stdin=BAD.encode())
    assert code == 0
    code, _, _ = run_cli("-", "--stdin-filename", "app/one.py", cwd=project, stdin=BAD.encode())
    assert code == 1


def test_stdin_force_exclude(run_cli, project):
    code, out, _ = run_cli("-", "--stdin-filename", "build/gen.py", cwd=project, stdin=BAD.encode())
    assert code == 1
    code, out, _ = run_cli("-", "--stdin-filename", "build/gen.py", "--force-exclude", cwd=project, stdin=BAD.encode())
    assert code == 0 and finding_lines(out) == []


def test_stdin_mixed_with_paths_is_usage_error(run_cli, project):
    code, out, err = run_cli("-", "pkg", cwd=project, stdin=BAD.encode())
    assert code == 2 and "stdin" in err


def test_stdin_filename_without_dash_is_usage_error(run_cli, project):
    code, _, err = run_cli("pkg", "--stdin-filename", "x.py", cwd=project)
    assert code == 2 and "--stdin-filename" in err


# -- exit codes -----------------------------------------------------------------------


def test_exit_clean(run_cli, project):
    code, out, err = run_cli("pkg/good.py", "--no-cache", cwd=project)
    assert (code, err) == (0, "")
    assert out.strip() == "All checks passed!"


def test_exit_empty_directory(run_cli, tmp_path):
    (tmp_path / "empty").mkdir()
    code, out, _ = run_cli("empty", "--no-cache", cwd=tmp_path)
    assert code == 0 and "All checks passed!" in out


def test_exit_findings(run_cli, project):
    assert run_cli("pkg/bad.py", "--no-cache", cwd=project)[0] == 1


def test_nonexistent_path(run_cli, project):
    code, out, err = run_cli("pkg", "missing.py", "--no-cache", cwd=project)
    assert code == 2 and out == ""
    assert "missing.py" in err and "no such file" in err


def test_usage_error(run_cli, project):
    code, _, err = run_cli("pkg", "--no-such-option", cwd=project)
    assert code == 2 and "--no-such-option" in err


def test_internal_error_is_exit_2_without_traceback(run_cli, project, monkeypatch):
    import sessionlint.lint_rules.engine as engine

    def boom(request):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(engine, "lint", boom)
    code, out, err = run_cli("pkg", "--no-cache", cwd=project)
    assert code == 2
    assert "internal error" in err and "kaboom" in err and "Traceback" not in err


def test_python_dash_m(project):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONLINT_")}
    result = subprocess.run(
        [sys.executable, "-m", "sessionlint", "pkg", "--no-cache"],
        cwd=project, capture_output=True, text=True, env=env, timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines()[0].startswith(SL001_LINE)
    version = subprocess.run(
        [sys.executable, "-m", "sessionlint", "--version"], capture_output=True, text=True, env=env, timeout=120
    )
    assert (version.returncode, version.stdout.strip()) == (0, f"sessionlint {__version__}")


def test_multiple_paths_and_duplicates(run_cli, project):
    code, out, _ = run_cli("pkg", "pkg/bad.py", "./pkg/bad.py", "--no-cache", cwd=project)
    assert code == 1 and len(finding_lines(out)) == 1


def test_absolute_path_outside_cwd(run_cli, project, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("cwd")
    code, out, _ = run_cli(str(project / "pkg"), "--no-cache", cwd=elsewhere)
    assert code == 1
    assert f"{project / 'pkg' / 'bad.py'}:4:6: SL001 " in out


def test_no_files_warning(run_cli, tmp_path):
    (tmp_path / "empty").mkdir()
    code, out, err = run_cli("empty", "--no-cache", cwd=tmp_path)
    assert code == 0 and "no Python files found" in err
    code, out, err = run_cli("-", "--stdin-filename", "build/x.py", "--force-exclude", cwd=tmp_path, stdin=BAD.encode())
    assert code == 0 and err == ""  # stdin: nothing to warn about
