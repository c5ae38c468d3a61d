"""The README's first command, `make demo`, from this checkout: every unsafe arm is flagged by
the linter and fails under stress, every safe arm is clean in both (exit 0)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_apps"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_passes():
    done = subprocess.run(["make", "--no-print-directory", "demo"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    pairs = sorted(p.parent.name for p in SAMPLES.glob("*/unsafe"))
    for pair in pairs:
        assert f"ok   {pair}/unsafe: flagged" in output, output[-6000:]
        assert f"ok   {pair}/safe: clean" in output, output[-6000:]
    assert "lint demo passed" in output
    assert f"OK — {2 * len(pairs)}/{2 * len(pairs)} arms as expected" in output, output[-6000:]
    assert "demo passed" in output
