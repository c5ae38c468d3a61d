"""Files that cannot be linted: each is reported on one clear line naming the file,
the other files are still linted, and the exit code is 2 ("error" beats "findings").

The text screen only parses files that mention a session name, so the syntax-error
file says `Session`; the NUL, undecodable, oversize and unreadable checks happen
before the screen.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

BAD = (
    "from fastapi import FastAPI\n"
    "from sqlalchemy.orm import sessionmaker\n"
    "SessionLocal = sessionmaker()\n"
    "db = SessionLocal()\n"
)
SIBLING = "pkg/sibling.py:4:6: SL001 "
TEN_MB = 10 * 1024 * 1024


def make_syntax_error(pkg: Path) -> Path:
    path = pkg / "broken.py"
    path.write_text("from sqlalchemy.orm import Session\n\ndef handler(:\n    return Session()\n")
    return path


def make_undecodable(pkg: Path) -> Path:
    path = pkg / "undecodable.py"
    path.write_bytes(b"from sqlalchemy.orm import Session\nname = '\xff\xfe garbage \xe9'\n")
    return path


def make_utf16_garbage(pkg: Path) -> Path:
    path = pkg / "utf16.py"
    path.write_bytes(b"\xff\xfe\x00garbage")
    return path


def make_latin1(pkg: Path) -> Path:
    path = pkg / "latin1.py"
    path.write_bytes("from sqlalchemy.orm import Session\nauthor = 'Jos\xe9'\n".encode("latin-1"))
    return path


def make_nul(pkg: Path) -> Path:
    path = pkg / "nul.py"
    path.write_bytes(b"from sqlalchemy.orm import Session\nx = 1\x00\n")
    return path


def make_huge(pkg: Path) -> Path:
    path = pkg / "huge.py"
    line = b"value = 'Session' * 3  # padding padding padding padding padding\n"
    with open(path, "wb") as handle:
        handle.write(line * (TEN_MB // len(line) + 1))
    assert path.stat().st_size > TEN_MB
    return path


def make_symlink_loop(pkg: Path) -> Path:
    os.symlink("loop_b.py", pkg / "loop_a.py")
    os.symlink("loop_a.py", pkg / "loop_b.py")
    return pkg / "loop_a.py"


def make_dangling_symlink(pkg: Path) -> Path:
    os.symlink("does_not_exist.py", pkg / "dangling.py")
    return pkg / "dangling.py"


def make_unreadable(pkg: Path, monkeypatch) -> Path:
    """chmod 000 does not stop root (CI), so fail the engine's read instead."""
    import sessionlint.lint_rules.engine as engine

    path = pkg / "secret.py"
    path.write_text(BAD)
    real = engine.read_bytes

    def read_bytes(p):
        if Path(p).name == "secret.py":
            raise PermissionError(13, "Permission denied", str(p))
        return real(p)

    monkeypatch.setattr(engine, "read_bytes", read_bytes)
    return path


# (maker, words the one-line reason must contain)
CASES = {
    "syntax": (make_syntax_error, ["syntax error"]),
    "undecodable": (make_undecodable, ["decode"]),
    "utf16_garbage": (make_utf16_garbage, []),
    "latin1_without_cookie": (make_latin1, ["decode"]),
    "nul": (make_nul, ["NUL"]),
    "huge": (make_huge, ["max-file-size"]),
    "symlink_loop": (make_symlink_loop, ["symbolic link loop"]),
    "dangling_symlink": (make_dangling_symlink, ["No such file"]),
    "unreadable": (make_unreadable, ["ermission denied"]),
}


@pytest.fixture
def pkg(tmp_path: Path) -> Path:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "sibling.py").write_text(BAD)
    (pkg / "clean.py").write_text("from sqlalchemy.orm import Session\n\ndef f(engine):\n    with Session(engine) as s:\n        return s.scalar(1)\n")
    return pkg


def make(name: str, pkg: Path, monkeypatch) -> Path:
    maker = CASES[name][0]
    return maker(pkg, monkeypatch) if maker is make_unreadable else maker(pkg)


def summary(out: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(("Found ", "All checks passed")))


def error_lines(out: str, filename: str) -> list[str]:
    return [line for line in out.splitlines() if filename in line]


@pytest.mark.parametrize("case", list(CASES))
def test_bad_file_reported_once_and_sibling_still_linted(run_cli, pkg, monkeypatch, case):
    bad = make(case, pkg, monkeypatch)
    rel = bad.relative_to(pkg.parent).as_posix()
    code, out, err = run_cli("pkg", "--no-cache", cwd=pkg.parent)
    assert code == 2, out + err
    assert "Traceback" not in out + err and "internal error" not in out + err
    lines = error_lines(out, rel)
    assert len(lines) == 1, out
    line = lines[0]
    assert line.startswith(f"error: Failed to lint {rel}")
    for word in CASES[case][1]:
        assert word in line, line
    assert len(line) < 400
    # the sibling's finding is still there, and the summary says what happened
    assert any(text.startswith(SIBLING) for text in out.splitlines()), out
    assert "could not be linted" in summary(out)


@pytest.mark.parametrize("case", list(CASES))
def test_bad_file_alone(run_cli, tmp_path, monkeypatch, case):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    bad = make(case, pkg, monkeypatch)
    code, out, err = run_cli("pkg", "--no-cache", cwd=tmp_path)
    assert code == 2
    assert len(error_lines(out, bad.relative_to(tmp_path).as_posix())) == 1


def test_all_bad_inputs_in_one_run(run_cli, pkg, monkeypatch):
    bad = [make(case, pkg, monkeypatch) for case in CASES]
    code, out, err = run_cli("pkg", "--no-cache", cwd=pkg.parent)
    assert code == 2
    failed = [line for line in out.splitlines() if line.startswith("error: Failed to lint ")]
    names = {path.relative_to(pkg.parent).as_posix() for path in bad} | {"pkg/loop_b.py"}
    assert len(failed) == len(names)
    for name in names:
        assert len(error_lines(out, name)) == 1, name
    assert [line for line in out.splitlines() if ": SL0" in line] == [
        line for line in out.splitlines() if line.startswith(SIBLING)
    ]
    assert summary(out) == f"Found 1 error ({len(names)} files could not be linted)."


def test_exit_zero_does_not_hide_errors(run_cli, pkg):
    make_syntax_error(pkg)
    code, out, _ = run_cli("pkg", "--no-cache", "--exit-zero", cwd=pkg.parent)
    assert code == 2


def test_bad_file_named_explicitly(run_cli, pkg):
    make_nul(pkg)
    code, out, _ = run_cli("pkg/nul.py", "pkg/sibling.py", "--no-cache", cwd=pkg.parent)
    assert code == 2
    assert len(error_lines(out, "pkg/nul.py")) == 1 and SIBLING in out


def test_json_output_reports_errors_on_stderr(run_cli, pkg):
    make_syntax_error(pkg)
    make_nul(pkg)
    code, out, err = run_cli("pkg", "--no-cache", "--output-format", "json", cwd=pkg.parent)
    assert code == 2
    assert [d["filename"] for d in json.loads(out)] == ["pkg/sibling.py"]
    assert len(error_lines(err, "pkg/broken.py")) == 1
    assert len(error_lines(err, "pkg/nul.py")) == 1


def test_sarif_github_junit_carry_errors(run_cli, pkg):
    import xml.etree.ElementTree as ET

    make_syntax_error(pkg)
    code, out, _ = run_cli("pkg", "--no-cache", "--output-format", "sarif", cwd=pkg.parent)
    assert code == 2
    run = json.loads(out)["runs"][0]
    assert run["invocations"][0]["executionSuccessful"] is False
    assert "pkg/broken.py" in json.dumps(run["invocations"])
    code, out, _ = run_cli("pkg", "--no-cache", "--output-format", "github", cwd=pkg.parent)
    assert code == 2 and len(error_lines(out, "pkg/broken.py")) == 1
    code, out, _ = run_cli("pkg", "--no-cache", "--output-format", "junit", cwd=pkg.parent)
    assert code == 2 and ET.fromstring(out.encode()).get("errors") == "1"


def test_syntax_error_has_a_position(run_cli, pkg):
    make_syntax_error(pkg)
    code, out, _ = run_cli("pkg/broken.py", "--no-cache", cwd=pkg.parent)
    line = error_lines(out, "pkg/broken.py")[0]
    # LibCST places some errors a line late (at the next token); a position is there
    assert re.match(r"error: Failed to lint pkg/broken\.py:[34]:\d+: syntax error", line), line


def test_syntax_error_is_cached_and_still_reported(run_cli, pkg):
    make_syntax_error(pkg)
    for _ in range(2):
        code, out, _ = run_cli("pkg", cwd=pkg.parent)
        assert code == 2 and len(error_lines(out, "pkg/broken.py")) == 1 and SIBLING in out


def test_max_file_size_can_be_raised(run_cli, pkg):
    # (no session names in it, so the screen skips it once it may be read at all)
    (pkg / "huge.py").write_bytes(b"value = 1  # padding padding padding padding padding padding\n" * (TEN_MB // 60))
    code, out, _ = run_cli("pkg", "--no-cache", cwd=pkg.parent)
    assert code == 2 and len(error_lines(out, "pkg/huge.py")) == 1
    (pkg.parent / "pyproject.toml").write_text(f"[tool.sessionlint]\nmax-file-size = {TEN_MB * 2}\n")
    code, out, _ = run_cli("pkg", "--no-cache", cwd=pkg.parent)
    assert code == 1 and "huge.py" not in out


def test_bom_and_coding_cookie_are_fine(run_cli, tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "bom.py").write_bytes(b"\xef\xbb\xbf" + BAD.encode())
    (pkg / "cookie.py").write_bytes(b"# -*- coding: latin-1 -*-\n" + BAD.encode() + "x = 'Jos\xe9'\n".encode("latin-1"))
    (pkg / "crlf.py").write_bytes(BAD.replace("\n", "\r\n").encode())
    code, out, _ = run_cli("pkg", "--no-cache", cwd=tmp_path)
    assert code == 1, out
    assert {line.split(":")[0] for line in out.splitlines() if ": SL001 " in line} == {
        "pkg/bom.py", "pkg/cookie.py", "pkg/crlf.py"
    }
    assert "cookie.py:5:6: SL001" in out


def test_stdin_bad_input(run_cli, tmp_path):
    code, out, _ = run_cli("-", "--stdin-filename", "x.py", cwd=tmp_path, stdin=b"from sqlalchemy.orm import Session\x00\n")
    assert code == 2 and len(error_lines(out, "x.py")) == 1
    code, out, _ = run_cli("-", "--stdin-filename", "x.py", cwd=tmp_path, stdin=b"from sqlalchemy.orm import Session\ndef (:\n")
    assert code == 2 and "syntax error" in error_lines(out, "x.py")[0]


def test_deeply_nested_file(run_cli, pkg):
    (pkg / "deep.py").write_text("from sqlalchemy.orm import Session\nx = " + "(" * 3000 + "1" + ")" * 3000 + "\n")
    code, out, err = run_cli("pkg", "--no-cache", cwd=pkg.parent)
    assert "internal error" not in err and SIBLING in out
    assert code in (1, 2)
    if code == 2:
        assert len(error_lines(out, "pkg/deep.py")) == 1
