"""The `sessionlint` pre-commit hook, run by the real pre-commit against a scratch repository.

`pre-commit try-repo PATH` installs the hook repository at PATH's HEAD; with
uncommitted changes it commits *tracked* changes to a shadow clone, but leaves
untracked files out (a new .pre-commit-hooks.yaml, a new module). So the test
copies the checkout as git would commit it (tracked + untracked, minus ignored)
into a new repository, commits it, and points try-repo at that: the hook under
test is always the working tree's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent

BAD = textwrap.dedent(
    """\
    from fastapi import FastAPI
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    engine = create_engine("sqlite://")
    SessionLocal = sessionmaker(bind=engine)
    db = SessionLocal()
    app = FastAPI()


    @app.get("/items")
    def items():
        return db.execute("select 1").all()
    """
)
GOOD = textwrap.dedent(
    """\
    from fastapi import Depends, FastAPI
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session, sessionmaker

    engine = create_engine("sqlite://")
    SessionLocal = sessionmaker(bind=engine)
    app = FastAPI()


    def get_db():
        db = SessionLocal()
        try:
            yield db
        finally:
            db.close()


    @app.get("/items")
    def items(db: Session = Depends(get_db)):
        return db.execute("select 1").all()
    """
)


def git_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "SESSIONLINT_")) and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # No user or system git configuration (hooks, signing, templates) leaks in.
    (home / "gitconfig").touch()
    env.update(
        GIT_CONFIG_GLOBAL=str(home / "gitconfig"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="sessionlint tests",
        GIT_AUTHOR_EMAIL="tests@sessionlint.invalid",
        GIT_COMMITTER_NAME="sessionlint tests",
        GIT_COMMITTER_EMAIL="tests@sessionlint.invalid",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
        NO_COLOR="1",
        PRE_COMMIT_COLOR="never",
        PRE_COMMIT_HOME=str(home / "pre-commit"),
    )
    return env


def sh(cmd: list[str], cwd: Path, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} exited {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")
    return proc


def git_init(path: Path, env: dict[str, str]) -> None:
    sh(["git", "init", "-q", "-b", "main", "."], path, env)


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    return git_env(tmp_path_factory.mktemp("precommit-home"))


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory, env) -> Path:
    """The working tree as git would commit it, committed in a repository of its own."""
    repo = tmp_path_factory.mktemp("hook-repo")
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], check=False, cwd=ROOT, capture_output=True
    )
    if listing.returncode != 0:
        pytest.skip("the source tree is not a git checkout")
    for rel in filter(None, listing.stdout.decode().split("\0")):
        if (ROOT / rel).is_file():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, repo / rel)
    git_init(repo, env)
    sh(["git", "add", "-A"], repo, env)
    sh(["git", "commit", "-q", "--no-verify", "-m", "working tree under test"], repo, env)
    return repo


@pytest.fixture
def project(tmp_path, env) -> Path:
    """A user's repository with one bad and one good module."""
    (tmp_path / "bad.py").write_text(BAD)
    (tmp_path / "good.py").write_text(GOOD)
    git_init(tmp_path, env)
    sh(["git", "add", "-A"], tmp_path, env)
    return tmp_path


def try_repo(hook_repo: Path, project: Path, env: dict[str, str], *files: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), "sessionlint", "--verbose", "--files", *files]
    return sh(cmd, project, env, check=False)


def test_hook_manifest_is_valid() -> None:
    from pre_commit.clientlib import load_manifest

    hooks = load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))
    assert [hook["id"] for hook in hooks] == ["sessionlint"]
    hook = hooks[0]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert hook["entry"].split()[0] in scripts
    assert "--force-exclude" in hook["entry"].split()
    assert hook["language"] == "python"
    assert set(hook["types_or"]) == {"python", "pyi"}
    # Cross-file findings: one invocation must see all the files.
    assert hook["require_serial"] is True


@pytest.mark.slow
def test_hook_fails_bad_file_and_passes_good_file(hook_repo: Path, project: Path, env) -> None:
    # Each try-repo installs the hook into a throw-away store of its own
    # (PRE_COMMIT_HOME is not used), so the two independent runs go side by side.
    with ThreadPoolExecutor(2) as pool:
        bad_run = pool.submit(try_repo, hook_repo, project, env, "bad.py")
        good_run = pool.submit(try_repo, hook_repo, project, env, "good.py")
        bad, good = bad_run.result(), good_run.result()

    output = bad.stdout + bad.stderr
    assert bad.returncode == 1, output
    assert "SL001" in output and "bad.py:7:" in output, output
    assert "Failed" in output

    output = good.stdout + good.stderr
    assert good.returncode == 0, output
    assert "Passed" in output and "SL0" not in output, output


@pytest.mark.slow
def test_configured_hook_respects_excludes(hook_repo: Path, project: Path, env) -> None:
    """The hook as users configure it (the README's .pre-commit-config.yaml, with
    the repository's URL replaced by the copy's path and `rev` by its commit).

    pre-commit names each file explicitly; `--force-exclude` in the hook's entry
    makes [tool.sessionlint] excludes apply to them anyway.
    """
    rev = sh(["git", "rev-parse", "HEAD"], hook_repo, env).stdout.strip()
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hook_repo}\n    rev: {rev}\n    hooks:\n      - id: sessionlint\n"
    )
    (project / "pyproject.toml").write_text('[tool.sessionlint]\nextend-exclude = ["fixtures"]\n')
    (project / "fixtures").mkdir()
    shutil.copy(project / "bad.py", project / "fixtures" / "bad.py")
    sh(["git", "add", "-A"], project, env)

    def run(*files: str) -> subprocess.CompletedProcess[str]:
        return sh([sys.executable, "-m", "pre_commit", "run", "--verbose", "--files", *files], project, env, check=False)

    excluded = run("fixtures/bad.py", "good.py")
    assert excluded.returncode == 0, excluded.stdout + excluded.stderr

    both = run("bad.py", "fixtures/bad.py", "good.py")
    output = both.stdout + both.stderr
    assert both.returncode == 1, output
    assert "bad.py:7:" in output and "fixtures/bad.py" not in output and "good.py:" not in output, output
