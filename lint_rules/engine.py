"""The lint pipeline: discover → screen → parse/analyse (cached, parallel) →
resolve across files → findings."""

from __future__ import annotations

import os
import sys
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sessionlint.lint_rules.analysis.names import KNOWN_LIBRARY_ROOTS
from sessionlint.lint_rules.analyze import analyze, decode
from sessionlint.lint_rules.cache import ResultCache, content_key
from sessionlint.lint_rules.discovery import DiscoveryOptions, discover, module_name
from sessionlint.lint_rules.facts import FileFacts
from sessionlint.lint_rules.model import FileError, Finding, Report
from sessionlint.lint_rules.registry import all_rules
from sessionlint.lint_rules.resolve import ProjectIndex
from sessionlint.lint_rules.screen import Screen, session_symbol_names

# A process pool costs ~50–100 ms to start; below this much work it doesn't pay.
PARALLEL_MIN_FILES = 24
PARALLEL_MIN_BYTES = 400_000


@dataclass
class LintRequest:
    paths: list[Path]
    root: Path
    selected: frozenset[str]
    discovery: DiscoveryOptions
    per_file_ignores: list[tuple[object, frozenset[str]]] = field(default_factory=list)
    cache_dir: Path | None = None
    max_file_size: int = 4 * 1024 * 1024
    screen: bool = True
    jobs: int | None = None
    stdin: bytes | None = None
    stdin_filename: str | None = None
    #: path -> text to lint instead of the file on disk (fixes not yet written)
    overrides: dict[str, bytes] = field(default_factory=dict)


@dataclass(slots=True)
class _Source:
    path: Path
    data: bytes
    module: str
    is_package: bool
    key: str


def read_bytes(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def lint(request: LintRequest) -> Report:
    report = Report()
    cache = ResultCache(request.cache_dir)
    sources: dict[str, _Source] = {}

    packages: dict[Path, bool] = {}  # directory -> has __init__.py, for this run
    if request.stdin is not None:
        name = Path(request.stdin_filename or "-")
        path = name if name.is_absolute() else Path.cwd() / name
        # --force-exclude applies to the name given for stdin too (editors, pre-commit).
        if not (request.stdin_filename and request.discovery.force_exclude and not discover([path], request.discovery)):
            _add_source(sources, path, request.stdin, report)
    else:
        for path in discover(request.paths, request.discovery):
            override = request.overrides.get(str(path))
            data = override if override is not None else _read(path, request.max_file_size, report)
            if data is not None:
                _add_source(sources, path, data, report, packages)
    report.files_checked = len(sources) + len(report.errors)

    analysed: dict[str, FileFacts] = {}

    def run(batch: list[_Source], sink: dict[str, FileFacts], count: bool = True) -> None:
        todo = []
        for src in batch:
            hit = cache.get(str(src.path), src.key)
            if hit is not None:
                sink[str(src.path)] = hit
                report.files_cached += count
            else:
                todo.append(src)
        for src, facts in zip(todo, _analyse_many(todo, request.jobs)):
            cache.put(str(src.path), src.key, facts)
            sink[str(src.path)] = facts
            report.files_parsed += count

    # Project modules the linted files import but that are not being linted
    # themselves (pre-commit passes only the changed files): they take part in the
    # screen like linted files, so a name they export as a session thing lets the
    # files that import it through, but they are never reported on.
    context: dict[str, FileFacts] = {}
    pending = dict(sources)
    if request.screen:
        outside = _Outside(request, sources)
        outside.scan(sources.values())
        base = set().union(*(rule.screen_tokens for rule in all_rules().values()))
        tokens = set(base)
        while pending:  # context modules only matter for linted files not yet through
            screen = Screen(tokens)
            batch = [s for s in pending.values() if screen.passes(s.data)]
            extra = [s for s in outside.pending.values() if screen.passes(s.data)]
            if not batch and not extra:
                break
            for src in batch:
                del pending[str(src.path)]
            for src in extra:
                del outside.pending[str(src.path)]
            run(batch, analysed)
            run(extra, context, count=False)
            tokens = base | session_symbol_names([*analysed.values(), *context.values()])
            if tokens == screen.tokens:
                break
    else:
        run(list(pending.values()), analysed)

    index = ProjectIndex(analysed.values(), loader=_Loader(request, cache, {**context, **analysed}).load)
    rules = all_rules()
    cwd = Path.cwd()
    for path_str, facts in analysed.items():
        if facts.error is not None:
            report.errors.append(facts.error)
        path = Path(path_str)
        ignored_here = _ignored_codes(path, request)
        for candidate in facts.candidates:
            if candidate.companion:
                continue
            code = candidate.code
            if code not in request.selected or code in ignored_here:
                continue
            rule = rules[code]
            suppressed = facts.noqa.get(candidate.span.row, ())
            if code in suppressed or rule.name in suppressed:
                continue
            if not index.accept(candidate, path_str):
                continue
            report.findings.append(
                Finding(
                    code=code,
                    name=rule.name,
                    message=candidate.message + index.describe_users(candidate, lambda p: _display(Path(p), cwd), path_str),
                    filename=_display(path, cwd),
                    span=candidate.span,
                    severity=rule.severity,
                    url=rule.url(),
                    fix=_group_fix(index, candidate, analysed, cwd),
                )
            )
    for error in report.errors:
        error.filename = _display(Path(error.filename), cwd)
    report.findings.sort(key=Finding.sort_key)
    report.errors.sort(key=lambda e: e.filename)
    cache.save()
    return report


def _group_fix(index: ProjectIndex, candidate, analysed: dict[str, FileFacts], cwd: Path) -> dict | None:
    """The candidate's fix as JSON, with the edits its group's companions add in
    other files; None if any companion cannot be fixed."""
    if candidate.fix is None:
        return None
    fix = candidate.fix.to_json()
    if candidate.group is None:
        return fix
    group = index.canonical(candidate.group)
    for facts in list(analysed.values()) + [f for f in index.modules.values() if f.path not in analysed]:
        for other in facts.candidates:
            if not other.companion or other.group is None or index.canonical(other.group, facts.path) != group:
                continue
            if other.fix is None:
                return None  # that module uses the global in a way the fix can't rewrite
            for edit in other.fix.to_json()["edits"]:
                edit["filename"] = _display(Path(facts.path), cwd)
                fix["edits"].append(edit)
    return fix


def _add_source(sources: dict[str, _Source], path: Path, data: bytes, report: Report, packages: dict | None = None) -> None:
    module, is_package = module_name(path, packages)
    if b"\x00" in data:
        report.errors.append(FileError(str(path), "file contains a NUL byte; it is not Python source"))
        return
    try:
        decode(data)
    except (UnicodeDecodeError, SyntaxError, LookupError) as exc:
        report.errors.append(
            FileError(str(path), f"cannot decode file: {exc}; save it as UTF-8 (or fix its coding cookie)")
        )
        return
    sources[str(path)] = _Source(path, data, module, is_package, content_key(data, module, is_package))


def _read(path: Path, limit: int, report: Report) -> bytes | None:
    try:
        size = os.stat(path).st_size
        if size > limit:
            report.errors.append(
                FileError(
                    str(path),
                    f"skipped: file is {size / 2**20:.1f} MiB, over max-file-size "
                    f"({limit / 2**20:.1f} MiB); exclude it or raise `max-file-size` in [tool.sessionlint]",
                )
            )
            return None
        return read_bytes(path)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.errno == 40:  # ELOOP
            reason = "symbolic link loop"
        report.errors.append(FileError(str(path), f"cannot read file: {reason}"))
        return None


def _analyse_one(src: _Source) -> FileFacts:
    return analyze(src.data, str(src.path), src.module, src.is_package)


def _analyse_many(batch: list[_Source], jobs: int | None) -> list[FileFacts]:
    total = sum(len(s.data) for s in batch)
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    if workers > 1 and len(batch) >= PARALLEL_MIN_FILES and total >= PARALLEL_MIN_BYTES:
        import multiprocessing

        context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            return list(pool.map(_analyse_one, batch, chunksize=max(1, len(batch) // (workers * 4))))
    return [_analyse_one(src) for src in batch]


class _Loader:
    """Finds a module the linted files import but that is not itself being linted
    (pre-commit passes only changed files), so its definitions still resolve."""

    def __init__(self, request: LintRequest, cache: ResultCache, analysed: dict[str, FileFacts]):
        self.request = request
        self.cache = cache
        self.analysed = analysed
        self.listings: dict = {}

    def load(self, module: str, origin: str) -> FileFacts | None:
        candidate = find_module(module, origin, self.request.root, self.listings)
        if candidate is None:
            return None
        known = self.analysed.get(str(candidate))
        if known is not None:
            return known
        try:
            data = read_bytes(candidate)
        except OSError:
            return None
        if len(data) > self.request.max_file_size:
            return None
        is_package = candidate.name == "__init__.py"
        key = content_key(data, module, is_package)
        facts = self.cache.get(str(candidate), key)
        if facts is None:
            facts = analyze(data, str(candidate), module, is_package)
            self.cache.put(str(candidate), key, facts)
        return facts


def find_module(module: str, origin: str, root: Path, listings: dict | None = None) -> Path | None:
    """The file that defines `module` as seen from the file `origin`: the first
    `<dir>/<module path>.py` or `<dir>/<module path>/__init__.py`, walking up from
    the importing file's directory (at most 10 levels).  `listings` caches
    directory listings for one run, so most misses cost no `stat`."""
    parts = module.split(".")
    if not all(part.isidentifier() for part in parts):
        return None
    rel = Path(*parts)
    start = Path(origin).parent if origin else root
    for directory in [start, *start.parents][:10]:
        if listings is not None:
            names = listings.get(directory)
            if names is None:
                try:
                    names = listings[directory] = frozenset(os.listdir(directory))
                except OSError:
                    names = listings[directory] = frozenset()
            if parts[0] not in names and f"{parts[0]}.py" not in names:
                continue
        for candidate in (directory / rel.with_suffix(".py"), directory / rel / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


# Import statements, found in the raw bytes (an over-approximation is harmless:
# it only makes the screen look at more modules).
_FROM_IMPORT = re.compile(rb"(?:^|[;:])[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]*(\([^)]*\)|(?:[^\n#;\\]|\\\n)*)", re.M)
_IMPORT = re.compile(rb"(?:^|[;:])[ \t]*import[ \t]+((?:[^\n#;\\]|\\\n)+)", re.M)
_WORD = re.compile(rb"[A-Za-z_][\w.]*")


def imported_modules(data: bytes, module: str, is_package: bool) -> set[str]:
    """Every module a file's import statements might refer to, as absolute names."""
    package = module if is_package else module.rpartition(".")[0]
    out: set[str] = set()
    for match in _FROM_IMPORT.finditer(data):
        spec = match.group(1).decode("ascii", "replace")
        level = len(spec) - len(spec.lstrip("."))
        base = spec[level:]
        if level:
            parts = package.split(".") if package else []
            keep = len(parts) - (level - 1)
            prefix = ".".join(parts[: max(keep, 0)])
            base = ".".join(p for p in (prefix, base) if p)
        if base:
            out.add(base)
        for word in _WORD.findall(match.group(2)):
            name = word.decode("ascii", "replace")
            if name != "as" and "." not in name:
                out.add(f"{base}.{name}" if base else name)
    for match in _IMPORT.finditer(data):
        for word in _WORD.findall(match.group(1)):
            parts = word.decode("ascii", "replace").split(".")
            if parts[0] != "as":
                out.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return out


class _Outside:
    """Project modules (files under the root) imported, directly or through each
    other, by the linted files but not linted themselves, waiting to pass the
    screen.  Modules outside the root are left to the resolver's lazy loader; a
    session factory defined there and imported under a name that contains none of
    the screen's tokens is the one case the screen can still miss."""

    def __init__(self, request: LintRequest, sources: dict[str, _Source]):
        self.request = request
        self.linted = set(sources)
        self.root = Path(os.path.normpath(request.root.resolve() if not request.root.is_absolute() else request.root))
        self.seen: set[str] = set()
        self.pending: dict[str, _Source] = {}
        self._found: dict[tuple[str, Path], Path | None] = {}
        self.listings: dict = {}
        # Names that can't be an outside project module: the linted files' own
        # modules, the standard library and well-known libraries.  Skipping them
        # before any filesystem look-up keeps a full-project (warm) run cheap.
        self.known = {src.module for src in sources.values() if src.module}
        self.skip_roots = set(sys.stdlib_module_names) | KNOWN_LIBRARY_ROOTS

    def scan(self, batch) -> bool:
        """Queue the outside modules that `batch` imports, and those they import."""
        grew = False
        work = list(batch)
        while work:
            src = work.pop()
            for module in imported_modules(src.data, src.module, src.is_package):
                if module in self.known or module.partition(".")[0] in self.skip_roots:
                    continue
                key = (module, src.path.parent)
                if key not in self._found:
                    self._found[key] = find_module(module, str(src.path), self.request.root, self.listings)
                path = self._found[key]
                if path is None or str(path) in self.linted or str(path) in self.seen:
                    continue
                if self.root not in path.parents:
                    # Only the project's own modules: following imports into
                    # installed packages would parse half of site-packages.
                    continue
                self.seen.add(str(path))
                try:
                    if os.stat(path).st_size > self.request.max_file_size:
                        continue
                    data = read_bytes(path)
                except OSError:
                    continue
                if b"\x00" in data:
                    continue
                is_package = path.name == "__init__.py"
                found = _Source(path, data, module, is_package, content_key(data, module, is_package))
                self.pending[str(path)] = found
                work.append(found)
                grew = True
        return grew


def _ignored_codes(path: Path, request: LintRequest) -> frozenset[str]:
    out: set[str] = set()
    for spec, codes in request.per_file_ignores:
        try:
            rel = path.relative_to(request.root).as_posix()
        except ValueError:
            rel = path.as_posix()
        if spec.match_file(rel) or spec.match_file(path.name):
            out |= codes
    return frozenset(out)


def _display(path: Path, cwd: Path) -> str:
    try:
        return path.relative_to(cwd).as_posix()
    except ValueError:
        return str(path)
