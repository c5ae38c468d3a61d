import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture
def run_cli(monkeypatch, capsys):
    """Run the CLI in-process: returns (exit code, stdout, stderr)."""
    from sessionlint.cli import main

    def run(*args: str, cwd: Path | None = None, stdin: bytes | None = None):
        if cwd is not None:
            monkeypatch.chdir(cwd)
        if stdin is not None:
            import io

            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run
