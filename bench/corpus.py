"""The benchmark corpus: installed sources of sqlalchemy, fastapi, starlette,
pydantic and sqlmodel (pinned in ``bench/requirements-corpus.txt``), plus any
directories the user names.

The packages' wheels are downloaded once (``pip download --no-deps``) and their
package directories unpacked into ``bench/.corpus/<name>`` -- exactly the files
``pip install`` would put in site-packages, without installing anything, so no
environment's dependency pins get in the way. Without network, a package already
installed in the running interpreter's environment is used instead (and the report
says so); one found nowhere is left out with a warning.

Every run lints a fresh *copy* (`materialize`): the benchmark edits a file for the
"one changed file" case, no tool sees a `.venv` path or a `.gitignore` that would
exclude the files, and the user's own directories are never touched.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
CACHE = BENCH / ".corpus"
REQUIREMENTS = BENCH / "requirements-corpus.txt"
DOWNLOAD_TIMEOUT = 300
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "*.pyd", ".git", ".venv*", "node_modules")


@dataclass
class Corpus:
    dirs: list[Path]
    sources: list[str]  # one line per part, for the report: "sqlalchemy 2.1.9 (pinned wheel)"
    files: int = 0
    lines: int = 0
    warnings: list[str] = field(default_factory=list)

    def python_files(self) -> list[Path]:
        return sorted(p for d in self.dirs for p in d.rglob("*.py"))


def pinned() -> list[tuple[str, str]]:
    """(distribution, version) pairs from requirements-corpus.txt."""
    pairs = []
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            pairs.append((name.strip(), version.strip()))
    return pairs


def _unpack(wheel: Path, package: str, target: Path) -> bool:
    """Extract `package`/ from `wheel` into `target`/`package`; False if absent."""
    with zipfile.ZipFile(wheel) as archive:
        members = [m for m in archive.namelist() if m.startswith(f"{package}/") and m.endswith(".py")]
        if not members:
            return False
        staging = target.with_name(target.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        for member in members:
            archive.extract(member, staging)
        shutil.rmtree(target, ignore_errors=True)
        (staging / package).rename(target)
        shutil.rmtree(staging, ignore_errors=True)
    return True


def fetch(python: str = sys.executable) -> list[str]:
    """Download and unpack the pinned packages missing from the cache. Returns warnings."""
    warnings = []
    wanted = [(name, version) for name, version in pinned()
              if not (CACHE / f"{name}-{version}" / name).is_dir()]
    if not wanted:
        return warnings
    CACHE.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sessionlint-bench-wheels-") as tmp:
        print(f"bench: downloading the corpus ({', '.join(f'{n}=={v}' for n, v in wanted)}) ...", file=sys.stderr)
        command = [python, "-m", "pip", "--disable-pip-version-check", "download", "--quiet", "--no-deps",
                   "--only-binary=:all:", "-d", tmp, *(f"{n}=={v}" for n, v in wanted)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT,
                                  stdin=subprocess.DEVNULL)
            failed = done.returncode != 0
            detail = (done.stderr or done.stdout).strip().splitlines()[-1:] if failed else []
        except subprocess.TimeoutExpired:
            failed, detail = True, [f"pip download did not finish within {DOWNLOAD_TIMEOUT} s"]
        if failed:
            warnings.append(f"could not download the pinned corpus ({'; '.join(detail)}); "
                            "using installed copies where there are any")
        for name, version in wanted:
            prefix = f"{name.lower().replace('-', '_')}-{version}-"  # wheel names: normalized, any case
            wheels = sorted(p for p in Path(tmp).glob("*.whl") if p.name.lower().startswith(prefix))
            if wheels and _unpack(wheels[0], name, CACHE / f"{name}-{version}" / name):
                continue
            if not failed:
                warnings.append(f"{name}=={version}: no wheel with a {name}/ package was downloaded")
    return warnings


def _installed(name: str) -> tuple[Path, str] | None:
    """The package directory and version of `name` in this interpreter's environment."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    try:
        version = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        version = "unknown version"
    return Path(list(spec.submodule_search_locations)[0]), version


def materialize(target: Path, extra: list[Path] = (), only: list[str] | None = None) -> Corpus:
    """Copy the corpus (the pinned packages, or those named in `only`) and the
    `extra` directories into `target`, and count files and lines."""
    warnings = fetch()
    corpus = Corpus([], [], warnings=warnings)
    target.mkdir(parents=True, exist_ok=True)
    for name, version in pinned():
        if only is not None and name not in only:
            continue
        cached = CACHE / f"{name}-{version}" / name
        if cached.is_dir():
            source, origin = cached, f"{name} {version}"
        elif (found := _installed(name)) is not None:
            source, origin = found[0], f"{name} {found[1]} (installed copy; pinned {version} unavailable)"
        else:
            corpus.warnings.append(f"{name} left out of the corpus: not downloadable and not installed")
            continue
        shutil.copytree(source, target / name, ignore=IGNORE)
        corpus.dirs.append(target / name)
        corpus.sources.append(origin)
    for index, directory in enumerate(extra):
        directory = directory.expanduser().resolve()
        if not directory.is_dir():
            corpus.warnings.append(f"BENCH_PATHS: {directory} is not a directory; left out")
            continue
        copy = target / f"extra{index}-{directory.name}"
        shutil.copytree(directory, copy, ignore=IGNORE, symlinks=True)
        corpus.dirs.append(copy)
        corpus.sources.append(f"{directory} (BENCH_PATHS)")
    files = corpus.python_files()
    corpus.files = len(files)
    corpus.lines = sum(p.read_bytes().count(b"\n") for p in files)
    for message in corpus.warnings:
        print(f"bench: WARNING: {message}", file=sys.stderr)
    return corpus
