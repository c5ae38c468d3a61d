"""The project installs as one top-level package, `sessionlint`, and runs from there.

Each slow test works on a copy of the source tree (what git would commit: tracked
and untracked-but-not-ignored files) installed into a brand-new virtual
environment, once with `pip install <copy>` and once with `pip install -e <copy>`,
the way a user would: build isolation on, dependencies from the index. The copy
keeps the build from writing build/ and *.egg-info into the checkout, and keeps
stale build/ output of the checkout out of the wheel.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

# Source directory -> where setup.py installs it.
PACKAGE_DIRS = {
    "sessionlint": "sessionlint",
    "lint_rules": "sessionlint.lint_rules",
    "harness": "sessionlint.harness",
    "sample_apps": "sessionlint.sample_apps",
}
# What the linter path must never import (design.md §2).
HEAVY_MODULES = {"fastapi", "sqlalchemy", "httpx", "rich", "starlette"}

BAD_SOURCE = textwrap.dedent(
    """\
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    SessionLocal = sessionmaker(bind=create_engine("sqlite://"))
    db = SessionLocal()
    """
)
GOOD_SOURCE = textwrap.dedent(
    """\
    from fastapi import Depends, FastAPI
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session, sessionmaker

    SessionLocal = sessionmaker(bind=create_engine("sqlite://"))
    app = FastAPI()


    def get_db():
        db = SessionLocal()
        try:
            yield db
        finally:
            db.close()


    @app.get("/items")
    def items(db: Session = Depends(get_db)):
        return []
    """
)

# Run inside the fresh venv: what is importable at top level, and which
# distribution put it there (from each distribution's RECORD).
SNAPSHOT = r"""
import importlib.metadata as md, json, os, pkgutil, site, sys

owners = {}
for dist in md.distributions():
    tops = set()
    for file in dist.files or ():
        parts = file.parts
        if not parts or parts[0] in ("..", "__pycache__") or parts[0].endswith((".dist-info", ".egg-info", ".data")):
            continue
        if len(parts) == 1:
            if parts[0].endswith(".pth"):
                tops.add(parts[0])
                continue
            if not parts[0].endswith((".py", ".so", ".pyd")):
                continue
        tops.add(parts[0] if len(parts) > 1 else parts[0].split(".")[0])
    owners[dist.metadata["Name"].lower().replace("_", "-")] = sorted(tops)
pth = sorted(f for d in site.getsitepackages() if os.path.isdir(d) for f in os.listdir(d) if f.endswith(".pth"))
print(json.dumps({
    "modules": sorted({m.name for m in pkgutil.iter_modules()}),
    "owners": owners,
    "pth": pth,
    "site_packages": site.getsitepackages(),
}))
"""


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything that would leak the checkout or this venv in."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "PYTHONSAFEPATH")
        and not k.startswith("SESSIONLINT_")
    }
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", NO_COLOR="1", **extra)
    return env


def run(cmd: list[str], cwd: Path, check: bool = True, **extra_env: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, check=False, cwd=cwd, env=clean_env(**extra_env), capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        pytest.fail(f"{' '.join(map(str, cmd))} exited {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")
    return proc


def source_files(root: Path) -> list[str]:
    """Relative paths git would commit (tracked + untracked, minus ignored).

    Falls back to a plain walk without the usual junk when this is not a git checkout.
    """
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root, capture_output=True, check=True,
        ).stdout.decode()
        files = [f for f in out.split("\0") if f]
    except (OSError, subprocess.CalledProcessError):
        junk = {".git", ".venv", "build", "dist", "__pycache__", ".pytest_cache", ".hypothesis", ".ruff_cache", ".sessionlint_cache"}
        files = []
        for directory, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in junk and not d.endswith(".egg-info")]
            files += [os.path.relpath(os.path.join(directory, f), root) for f in filenames]
    # Deleted-but-still-tracked files and symlinks/sockets are left out.
    return sorted(f for f in files if (root / f).is_file())


def copy_source_tree(dest: Path) -> Path:
    for rel in source_files(ROOT):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, target)
    return dest


def make_venv(path: Path) -> Path:
    run([sys.executable, "-m", "venv", str(path)], cwd=path.parent)
    return path / "bin" / "python"


def dist_name(requirement: str) -> str:
    return re.match(r"[A-Za-z0-9._-]+", requirement).group(0).lower().replace("_", "-")


@dataclass
class Installed:
    mode: str  # "regular" or "editable"
    source: Path  # the installed copy of the source tree
    python: Path
    bin: Path
    work: Path  # an empty directory outside the source tree, to run things from
    before: dict
    after: dict
    pip_output: str

    @property
    def new_modules(self) -> set[str]:
        return set(self.after["modules"]) - set(self.before["modules"])

    @property
    def new_pth(self) -> set[str]:
        return set(self.after["pth"]) - set(self.before["pth"])

    def owned_by_sessionlint(self) -> set[str]:
        return set(self.after["owners"]["sessionlint"])

    def python_c(self, code: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run([str(self.python), "-c", code], cwd=self.work, check=check)


def install(mode: str, base: Path) -> Installed:
    source = copy_source_tree(base / "src")
    python = make_venv(base / "venv")
    work = base / "work"
    work.mkdir()

    def snapshot() -> dict:
        return json.loads(run([str(python), "-c", SNAPSHOT], cwd=work).stdout)

    before = snapshot()
    target = ["-e", str(source)] if mode == "editable" else [str(source)]
    proc = run([str(python), "-m", "pip", "install", *target], cwd=work)
    return Installed(mode, source, python, python.parent, work, before, snapshot(), proc.stdout + proc.stderr)


@pytest.fixture(scope="module")
def installs(tmp_path_factory) -> dict[str, Installed]:
    # Both installs at once: they are independent, and mostly wait on pip and the build.
    modes = ("regular", "editable")
    with ThreadPoolExecutor(len(modes)) as pool:
        futures = {mode: pool.submit(install, mode, tmp_path_factory.mktemp(f"install-{mode}")) for mode in modes}
        return {mode: future.result() for mode, future in futures.items()}


@pytest.fixture(params=["regular", "editable"])
def installed(request, installs) -> Installed:
    return installs[request.param]


# --- what the install adds --------------------------------------------------------------------


@pytest.mark.slow
def test_sessionlint_is_the_only_top_level_module_added(installed: Installed) -> None:
    # Implementation artifacts of setuptools' editable installs (PEP 660): a .pth
    # file that runs `import __editable___<dist>_<ver>_finder; ...install()`, and
    # that finder module, which maps `sessionlint` and its mapped sub-packages to
    # the source tree. They are named after the distribution, import nothing else,
    # and add no directory to sys.path, so they squat no importable name.
    editable_artifacts = re.compile(r"__editable___sessionlint_[0-9a-z_]+_finder|__editable__\.sessionlint-[^/]+\.pth")

    owned = installed.owned_by_sessionlint()
    if installed.mode == "regular":
        assert owned == {"sessionlint"}, f"the sessionlint wheel installs top-level entries {sorted(owned)}"
        assert "sessionlint" in installed.new_modules
    else:
        assert owned, "the editable install recorded no files"
        assert all(editable_artifacts.fullmatch(name) for name in owned), f"unexpected editable entries {sorted(owned)}"
        assert any(name.endswith(".pth") for name in owned) and any(not name.endswith(".pth") for name in owned)

    # Every other new top-level module belongs to a dependency's distribution.
    others = {name for dist, names in installed.after["owners"].items() if dist != "sessionlint" for name in names}
    unexplained = installed.new_modules - owned - others
    assert not unexplained, f"top-level modules that no distribution owns: {sorted(unexplained)}"
    dependency_dists = {dist_name(r) for r in PYPROJECT["project"]["dependencies"]}
    for dist, names in installed.after["owners"].items():
        if dist != "sessionlint" and dist not in installed.before["owners"]:
            assert not {"sessionlint", "lint_rules", "harness", "sample_apps"} & set(names), (dist, names)
    assert dependency_dists - {"tomli"} <= set(installed.after["owners"]), "a declared dependency was not installed"

    # .pth files can put directories on sys.path: only the editable finder's may appear, and it only imports.
    new_pth = installed.new_pth - others
    if installed.mode == "regular":
        assert not new_pth
    else:
        assert new_pth and all(editable_artifacts.fullmatch(name) for name in new_pth), sorted(new_pth)
        site_packages = Path(installed.after["site_packages"][0])
        for name in new_pth:
            lines = [ln for ln in (site_packages / name).read_text().splitlines() if ln.strip()]
            assert lines and all(ln.startswith("import ") for ln in lines), f"{name} adds a path to sys.path: {lines}"

    # The distribution's own metadata agrees.
    top_level = installed.python_c(
        "import importlib.metadata as md; print(md.distribution('sessionlint').read_text('top_level.txt') or '')"
    ).stdout.split()
    assert top_level in (["sessionlint"], []), top_level


@pytest.mark.slow
def test_no_source_directory_is_importable_at_top_level(installed: Installed) -> None:
    """Whatever the import machinery (sys.path, .pth, meta-path finders), the only
    top-level name from the source tree that resolves is `sessionlint`."""
    names = sorted(
        {p.name.removesuffix(".py") for p in installed.source.iterdir() if p.is_dir() or p.suffix == ".py"} - {".git", ".ci"}
    )
    assert {"lint_rules", "harness", "sample_apps", "tests", "setup"} <= set(names)
    code = (
        "import importlib.util, json, sys; "
        f"names = {names!r}; "
        "print(json.dumps({n: importlib.util.find_spec(n) is not None for n in names if n.isidentifier()}))"
    )
    found = json.loads(installed.python_c(code).stdout)
    assert {name for name, ok in found.items() if ok} == {"sessionlint"}


@pytest.mark.slow
def test_every_source_file_is_installed(installed: Installed) -> None:
    """A sub-directory without __init__.py, or a data file outside package_data,
    would silently be missing from the wheel; compare file by file."""
    code = (
        "import json, importlib, pathlib; "
        f"pkgs = {list(PACKAGE_DIRS.values())!r}; "
        "print(json.dumps({p: str(pathlib.Path(importlib.import_module(p).__file__).parent) for p in pkgs}))"
    )
    locations = json.loads(installed.python_c(code).stdout)
    for directory, package in PACKAGE_DIRS.items():
        where = Path(locations[package])
        if installed.mode == "editable":
            assert where == installed.source / directory, f"{package} is imported from {where}"
        else:
            assert Path(installed.after["site_packages"][0]) in where.parents, f"{package} is imported from {where}"
        wanted = {
            p.relative_to(installed.source / directory)
            for p in (installed.source / directory).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
        }
        present = {p.relative_to(where) for p in where.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
        assert wanted <= present, f"not installed from {directory}/: {sorted(map(str, wanted - present))}"


# --- the installed command ----------------------------------------------------------------------


@pytest.mark.slow
def test_console_script_and_module_run(installed: Installed) -> None:
    from sessionlint import __version__

    script = installed.bin / "sessionlint"
    assert script.is_file()
    for cmd in ([str(script), "--version"], [str(installed.python), "-m", "sessionlint", "--version"]):
        proc = run(cmd, cwd=installed.work)
        assert proc.stdout.strip() == f"sessionlint {__version__}", proc.stdout

    (installed.work / "bad.py").write_text(BAD_SOURCE)
    (installed.work / "good.py").write_text(GOOD_SOURCE)
    bad = run([str(script), "--no-cache", "bad.py"], cwd=installed.work, check=False)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "bad.py:5:" in bad.stdout and "SL001" in bad.stdout, bad.stdout
    good = run([str(script), "--no-cache", "good.py"], cwd=installed.work, check=False)
    assert good.returncode == 0, good.stdout + good.stderr
    mod = run([str(installed.python), "-m", "sessionlint", "check", "--no-cache", "bad.py"], cwd=installed.work, check=False)
    assert mod.returncode == 1 and "SL001" in mod.stdout, mod.stdout + mod.stderr


@pytest.mark.slow
def test_linter_install_is_light(installed: Installed) -> None:
    """`pip install sessionlint` (no extras) installs the linter only: no SQLAlchemy,
    no web framework, and every sub-package still imports, from outside the checkout."""
    light = {dist_name(r) for extra in ("stress", "drivers") for r in PYPROJECT["project"]["optional-dependencies"][extra]}
    assert light & {"sqlalchemy", "fastapi", "httpx", "rich"}
    pulled = light & set(installed.after["owners"])
    assert not pulled, f"the linter-only install pulled in {sorted(pulled)}"
    code = (
        "import importlib.util, json; "
        f"print(json.dumps(sorted(n for n in {sorted(HEAVY_MODULES)!r} if importlib.util.find_spec(n))))"
    )
    assert json.loads(installed.python_c(code).stdout) == []

    proc = installed.python_c(
        "import sessionlint, sessionlint.lint_rules, sessionlint.harness, sessionlint.sample_apps, sessionlint.cli; "
        "print(sessionlint.__file__)"
    )
    location = Path(proc.stdout.strip())
    if installed.mode == "regular":
        assert installed.source not in location.parents and ROOT not in location.parents, location
    else:
        assert installed.source in location.parents, location


def lint_path_imports(python: Path, cwd: Path) -> tuple[int, list[str]]:
    (cwd / "file.py").write_text(BAD_SOURCE)
    code = (
        "import json, sys, sessionlint.cli; "
        "code = sessionlint.cli.main(['check', '--no-cache', 'file.py']); "
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {sorted(HEAVY_MODULES)!r}); "
        "print(json.dumps([code, heavy]))"
    )
    proc = run([str(python), "-c", code], cwd=cwd)
    code, heavy = json.loads(proc.stdout.strip().splitlines()[-1])
    return code, heavy


@pytest.mark.slow
def test_lint_path_imports_no_framework_installed(installs: dict[str, Installed]) -> None:
    installed = installs["regular"]  # the editable install runs the same code
    code, heavy = lint_path_imports(installed.python, installed.work)
    assert code == 1, "the bad file should have a finding"
    assert heavy == []


def test_lint_path_imports_no_framework(tmp_path: Path) -> None:
    """The same in the development environment, where fastapi and sqlalchemy ARE
    installed, so an import of them would actually succeed (and be caught here)."""
    code, heavy = lint_path_imports(Path(sys.executable), tmp_path)
    assert code == 1, "the bad file should have a finding"
    assert heavy == [], f"linting one file imported {heavy}"
