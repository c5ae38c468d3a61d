"""Find the Python files to lint: walk directories, honour .gitignore and excludes."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import pathspec

# Directories nobody wants linted (ruff's defaults, plus our own cache).
DEFAULT_EXCLUDE = (
    ".bzr", ".direnv", ".eggs", ".git", ".git-rewrite", ".hg", ".ipynb_checkpoints",
    ".mypy_cache", ".nox", ".pants.d", ".pyenv", ".pytest_cache", ".pytype",
    ".ruff_cache", ".sessionlint_cache", ".svn", ".tox", ".venv", ".vscode",
    "__pypackages__", "_build", "buck-out", "build", "dist", "node_modules",
    "site-packages", "venv",
)


@dataclass
class DiscoveryOptions:
    root: Path
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    respect_gitignore: bool = True
    force_exclude: bool = False


class _Excluder:
    def __init__(self, options: DiscoveryOptions):
        self.root = options.root
        patterns = list(options.exclude) + list(options.extend_exclude)
        self.spec = pathspec.GitIgnoreSpec.from_lines(patterns)
        self.respect_gitignore = options.respect_gitignore
        self._gitignores: dict[Path, pathspec.PathSpec | None] = {}
        self._tops: dict[Path, Path | None] = {}

    def _relative(self, path: Path) -> str | None:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return None

    def excluded(self, path: Path, is_dir: bool) -> bool:
        if self.pattern_excluded(path, is_dir):
            return True
        return self.respect_gitignore and self._git_ignored(path, is_dir)

    def pattern_excluded(self, path: Path, is_dir: bool) -> bool:
        """Matched by `exclude`/`extend-exclude` (itself or through a parent)."""
        rel = self._relative(path)
        # Inside the root the relative path says it all (a basename would wrongly
        # match anchored patterns like `/top.py` in every directory).
        name = path.name if rel is None else rel
        return self.spec.match_file(name + ("/" if is_dir else ""))

    def _gitignore(self, directory: Path) -> pathspec.PathSpec | None:
        if directory not in self._gitignores:
            spec = None
            try:
                lines = (directory / ".gitignore").read_text(encoding="utf-8", errors="replace").splitlines()
                spec = pathspec.GitIgnoreSpec.from_lines(lines)
            except OSError:
                pass
            self._gitignores[directory] = spec
        return self._gitignores[directory]

    def _repo_top(self, directory: Path) -> Path | None:
        """The nearest directory at or above `directory` holding `.git`, if any."""
        if directory not in self._tops:
            if (directory / ".git").exists():
                top = directory
            elif directory.parent == directory:
                top = None
            else:
                top = self._repo_top(directory.parent)
            self._tops[directory] = top
        return self._tops[directory]

    def _git_ignored(self, path: Path, is_dir: bool) -> bool:
        # Each .gitignore applies to paths below its own directory: inside a git
        # repository up to the repository's top (even above the configured root,
        # e.g. when linting from a subdirectory), elsewhere up to the root.
        directory = path.parent
        top = self._repo_top(directory)
        if top is None:
            top = self.root if (directory == self.root or self.root in directory.parents) else directory
        suffix = "/" if is_dir else ""
        while True:
            spec = self._gitignore(directory)
            if spec is not None:
                rel = path.relative_to(directory).as_posix() + suffix
                if spec.match_file(rel):
                    return True
            if directory == top or directory.parent == directory:
                return False
            directory = directory.parent


def discover(paths: list[Path], options: DiscoveryOptions) -> list[Path]:
    """Python files under `paths`, sorted, without duplicates.

    A file or directory named explicitly is linted even if an exclude pattern
    matches it (or one of its parents), unless `force_exclude` is set (what pre-commit needs: it passes every changed
    file by name).
    """
    excluder = _Excluder(options)
    found: dict[str, Path] = {}
    for given in paths:
        path = given if given.is_absolute() else Path.cwd() / given
        path = Path(os.path.normpath(path))
        if path.is_dir():
            walker = excluder
            if not options.force_exclude and excluder.pattern_excluded(path, True):
                # Named explicitly but excluded (e.g. `.venv/lib/.../sqlalchemy`):
                # lint it, as ruff does; below it the patterns apply from there.
                walker = _Excluder(replace(options, root=path))
            for directory, dirnames, filenames in os.walk(path):
                here = Path(directory)
                dirnames[:] = sorted(d for d in dirnames if not walker.excluded(here / d, True))
                for name in filenames:
                    if name.endswith((".py", ".pyi")):
                        file = here / name
                        if not walker.excluded(file, False):
                            found.setdefault(str(file), file)
        else:
            if options.force_exclude and (
                excluder.excluded(path, False) or any(excluder.excluded(p, True) for p in path.parents if excluder._relative(p))
            ):
                continue
            found.setdefault(str(path), path)
    return [found[key] for key in sorted(found)]


def module_name(path: Path, _cache: dict[Path, bool] | None = None) -> tuple[str, bool]:
    """The dotted module name of `path` (walking up through packages) and whether
    it is a package's `__init__`.  `_cache` remembers which directories are
    packages; pass one dict per lint run (never a process-wide one: an
    `__init__.py` added between two runs in one process must be seen)."""
    if _cache is None:
        _cache = {}
    is_package = path.name in ("__init__.py", "__init__.pyi")
    parts = [] if is_package else [path.name.rsplit(".", 1)[0]]
    directory = path.parent
    while True:
        has_init = _cache.get(directory)
        if has_init is None:
            has_init = _cache[directory] = (directory / "__init__.py").is_file() or (directory / "__init__.pyi").is_file()
        if not has_init or directory.parent == directory:
            break
        parts.insert(0, directory.name)
        directory = directory.parent
    return ".".join(p for p in parts if p), is_package
