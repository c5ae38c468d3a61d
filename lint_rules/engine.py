"""The lint pipeline: discover → screen → parse/analyse (cached, parallel) →
resolve across files → findings.

Files are opened through the cache index (`cache.py`): a file whose stat
signature matches its record is screened, scanned for imports and given its facts
without being read, so a warm run reads one index file and `stat`s the tree.
"""

from __future__ import annotations

import gc
import os
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sessionlint.lint_rules.analysis.names import KNOWN_LIBRARY_ROOTS
from sessionlint.lint_rules.cache import UNVERIFIED, FileRecord, ResultCache, content_key, signature
from sessionlint.lint_rules.decoding import decode, decode_error
from sessionlint.lint_rules.discovery import DiscoveryOptions, discover, module_name
from sessionlint.lint_rules.facts import FileFacts
from sessionlint.lint_rules.model import FileError, Finding, Report
from sessionlint.lint_rules.resolve import ProjectIndex
from sessionlint.lint_rules.screen import TokenSearch, base_tokens, session_symbol_names

# LibCST (and the rules, which import it) load only when a file must be parsed:
# a warm run, or one whose files all fail the screen, never pays for them.

# A process pool costs ~50–100 ms to start (fork, plus shipping the sources);
# analysis runs at roughly 0.6–1 MB of source per CPU-second.  A pool pays when
# the wall time it saves -- the bytes that stop being on the critical path:
# total - max(largest file, total / workers) -- is worth clearly more than that,
# whatever the number of files (the screen's second round is often a few large
# ones).
PARALLEL_MIN_SAVED_BYTES = 150_000


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
    #: rule metadata by code (`registry.rule_catalog`); None: import the rules
    rules: dict | None = None


class _Source:
    """One file to lint: its record in the cache index, and its bytes, read only
    when something needs them (a record that matches the file's stat answers the
    screen, the import scan and the facts without a read)."""

    __slots__ = ("path", "module", "is_package", "record", "_data", "_given")

    def __init__(self, path: Path, module: str, is_package: bool, record: FileRecord, data: bytes | None = None,
                 given: bool = False):
        self.path = path
        self.module = module
        self.is_package = is_package
        self.record = record
        self._data = data
        self._given = given  # text that is not on disk (stdin, an unwritten fix): never dropped

    @property
    def key(self) -> str:
        return self.record.key

    @property
    def data(self) -> bytes:
        if self._data is None:
            self._data = read_bytes(self.path)
        return self._data

    def awaiting(self) -> int:
        """Bytes read that have no facts yet (0 when the cache answers)."""
        return len(self._data) if self._data is not None and self.record.facts is None else 0

    def release(self) -> None:
        if not self._given:
            self._data = None  # keep peak memory flat on large trees


def read_bytes(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


class _Files:
    """Opens files through the cache index: `stat` first, read and hash only when
    the stat signature differs from the record (or there is none)."""

    def __init__(self, cache: ResultCache, max_file_size: int):
        self.cache = cache
        self.max_file_size = max_file_size
        self.searches: dict[frozenset[str], TokenSearch] = {}

    def open(self, path: Path, module: str, is_package: bool, data: bytes | None = None) -> _Source | FileError:
        """The file as a source, or why it can't be linted.  `data` overrides the
        file on disk (stdin, fixes not yet written)."""
        name = str(path)
        record = self.cache.record(name)
        if data is None:
            try:
                info = os.stat(path)
            except OSError as exc:
                return _read_error(name, exc)
            if info.st_size > self.max_file_size:
                return _too_big(name, info.st_size, self.max_file_size)
            if record is not None and record.matches(info) and (record.module, record.is_package) == (module, is_package):
                return self._usable(path, module, is_package, record)
            given = False
            try:
                data = read_bytes(path)
            except OSError as exc:
                return _read_error(name, exc)
            stat = signature(info)
        else:
            stat, given = UNVERIFIED, True
        key = content_key(data, module, is_package)
        if record is not None and record.key == key:
            record.signature = stat  # same content: keep what we know
            self.cache.touched()
        else:
            record = FileRecord(stat, key, module, is_package, error=decode_error(data))
            self.cache.store(name, record)
        return self._usable(path, module, is_package, record, data, given)

    @staticmethod
    def _usable(path, module, is_package, record: FileRecord, data: bytes | None = None,
                given: bool = False) -> _Source | FileError:
        if record.error is not None:
            return FileError(str(path), record.error)
        return _Source(path, module, is_package, record, data, given)

    def contains_any(self, src: _Source, tokens: frozenset[str]) -> bool:
        """Does the file's text contain one of `tokens`?  Each token is searched
        for once per file content; the answers live in the record."""
        record = src.record
        missing = tokens - record.checked
        if missing:
            search = self.searches.get(missing)
            if search is None:
                search = self.searches[missing] = TokenSearch(missing)
            record.found = record.found | search.found_in(src.data)
            record.checked = record.checked | missing
            self.cache.touched()
        return not record.found.isdisjoint(tokens)

    def rule_patterns(self, src: _Source, gates: "_Gates") -> frozenset[str]:
        """Codes of the rules whose `screen_patterns` match the file's text."""
        record = src.record
        if record.patterns is None:
            text = decode(src.data)
            record.patterns = frozenset(code for code, patterns in gates.patterns.items()
                                        if any(p.search(text) for p in patterns))
            self.cache.touched()
        return record.patterns

    def passes(self, src: _Source, tokens: frozenset[str], names: frozenset[str], gates: "_Gates") -> bool:
        """The screen: can this file yield (or help yield) a finding?

        It can if its text has a token of a rule without `screen_patterns`, or a
        session name another file exports; if its only tokens belong to rules
        with patterns, one of those rules' patterns must match too (those rules
        can't fire otherwise, and no other rule has a token here)."""
        if not self.contains_any(src, tokens):
            return False
        gated: set[str] = set()
        for token in src.record.found & tokens:
            codes = gates.by_token.get(token)
            if token in names or codes is None:
                return True
            gated |= codes
        return not gated.isdisjoint(self.rule_patterns(src, gates))

    def imports(self, src: _Source) -> frozenset[str]:
        record = src.record
        if record.imports is None:
            record.imports = frozenset(imported_modules(src.data, src.module, src.is_package))
            self.cache.touched()
        return record.imports


class _Gates:
    """The rules' `screen_patterns`, arranged for the screen: `by_token` maps a
    token that only rules with patterns have to those rules' codes."""

    def __init__(self, rules: dict):
        self.patterns = {code: [re.compile(p) for p in rule.screen_patterns]
                         for code, rule in rules.items() if getattr(rule, "screen_patterns", ())}
        free = {t for code, rule in rules.items() if code not in self.patterns for t in rule.screen_tokens}
        self.by_token: dict[str, set[str]] = {}
        for code in self.patterns:
            for token in rules[code].screen_tokens:
                if token not in free:
                    self.by_token.setdefault(token, set()).add(code)


def _read_error(name: str, exc: OSError) -> FileError:
    reason = exc.strerror or str(exc)
    if exc.errno == 40:  # ELOOP
        reason = "symbolic link loop"
    return FileError(name, f"cannot read file: {reason}")


def _too_big(name: str, size: int, limit: int) -> FileError:
    return FileError(
        name,
        f"skipped: file is {size / 2**20:.1f} MiB, over max-file-size "
        f"({limit / 2**20:.1f} MiB); exclude it or raise `max-file-size` in [tool.sessionlint]",
    )


def _rules(request: LintRequest) -> dict:
    if request.rules is not None:
        return request.rules
    from sessionlint.lint_rules.registry import all_rules

    return all_rules()


def lint(request: LintRequest) -> Report:
    workers = _Workers(request.jobs)
    try:
        return _lint(request, workers)
    finally:
        workers.close()


def _lint(request: LintRequest, workers: "_Workers") -> Report:
    report = Report()
    cache = ResultCache(request.cache_dir)
    files = _Files(cache, request.max_file_size)
    rules = _rules(request)
    sources: dict[str, _Source] = {}

    awaiting = 0  # bytes read that have no cached facts

    def add(path: Path, data: bytes | None = None) -> None:
        nonlocal awaiting
        module, is_package = module_name(path, packages)
        opened = files.open(path, module, is_package, data)
        if isinstance(opened, FileError):
            report.errors.append(opened)
            return
        sources[str(path)] = opened
        awaiting += opened.awaiting()
        if awaiting >= EARLY_WORKERS_MIN_BYTES and workers.count > 1 and not workers.started:
            # The workers import the analysis code while the rest is read and screened.
            workers.start(early=True)

    packages: dict[Path, bool] = {}  # directory -> has __init__.py, for this run
    if request.stdin is not None:
        name = Path(request.stdin_filename or "-")
        path = name if name.is_absolute() else Path.cwd() / name
        # --force-exclude applies to the name given for stdin too (editors, pre-commit).
        if not (request.stdin_filename and request.discovery.force_exclude and not discover([path], request.discovery)):
            add(path, request.stdin)
    else:
        for path in discover(request.paths, request.discovery):
            add(path, request.overrides.get(str(path)))
    report.files_checked = len(sources) + len(report.errors)

    analysed: dict[str, FileFacts] = {}

    def run(batch: list[_Source], sink: dict[str, FileFacts], names: frozenset[str] | None,
            count: bool = True):
        """Start analysing the files of `batch` that have no usable cached facts
        (on the workers, when they are used); the function returned waits for
        the facts and files them in `sink`."""
        todo = []
        for src in batch:
            facts = src.record.facts
            if facts is not None and not facts.stale_for(names):
                sink[str(src.path)] = facts
                report.files_cached += count
            else:
                todo.append(src)
        results = _start_analysis(todo, workers, names)

        def finish() -> None:
            for src, facts in zip(todo, results()):
                src.record.facts = facts
                cache.touched()
                sink[str(src.path)] = facts
                report.files_parsed += count
            for src in batch:
                src.release()

        return finish

    # Project modules the linted files import but that are not being linted
    # themselves (pre-commit passes only the changed files): they take part in the
    # screen like linted files, so a name they export as a session thing lets the
    # files that import it through, but they are never reported on.
    context: dict[str, FileFacts] = {}
    pending = dict(sources)
    done: dict[str, _Source] = {}  # analysed (or context) files, by path
    if request.screen:
        outside = _Outside(request, sources, files)
        scanned = False
        base = base_tokens(rules)
        gates = _Gates(rules)
        tokens, names = base, frozenset()
        while True:
            # Context modules only matter for linted files not yet through, or
            # through but not parsed (a name the context exports may make them).
            batch = [s for s in pending.values() if files.passes(s, tokens, names, gates)]
            waiting = bool(pending) or any(facts.skipped_names is not None for facts in analysed.values())
            # Files the identifier screen skipped that name a session thing found since.
            again = [s for path, s in done.items() if (analysed.get(path) or context[path]).stale_for(names)]
            for src in batch:
                del pending[str(src.path)]
            finish_batch = run(batch, analysed, names)
            if not scanned:
                # While the workers analyse the first batch: the project modules
                # the linted files import (it reads every linted file's imports).
                outside.scan(sources.values())
                scanned = True
            extra = [s for s in outside.pending.values() if files.passes(s, tokens, names, gates)] if waiting else []
            through = {id(src) for src in extra}
            for src in (*pending.values(), *outside.pending.values()):
                if id(src) not in through:
                    src.release()
            for src in extra:
                del outside.pending[str(src.path)]
            run(extra, context, names, count=False)()
            run([s for s in again if str(s.path) in analysed], analysed, names, count=False)()
            run([s for s in again if str(s.path) not in analysed], context, names, count=False)()
            finish_batch()
            if not batch and not extra and not again:
                break
            done.update((str(src.path), src) for src in (*batch, *extra))
            screened = names
            names = frozenset(session_symbol_names([*analysed.values(), *context.values()]))
            tokens = base | names
            if names == screened:
                break
    else:
        names = None
        run(list(pending.values()), analysed, names)()

    index = _index(request, files, analysed, context)
    # Files analysed on the quick tree (`ast_tree.py`) whose candidates are about
    # to be reported, or lend edits to one's fix, are analysed again on LibCST's
    # tree: positions and fixes need it.  Their exports are the same, so the
    # other files' candidates resolve as before.
    while True:
        again = _exact_again(request, index, analysed, context)
        if not again:
            break
        batch = []
        for facts in again:
            src = sources.get(facts.path) or done.get(facts.path)
            if src is None:  # a module the resolver read on demand, known from the cache
                src = files.open(Path(facts.path), facts.module, Path(facts.path).name == "__init__.py")
            if not isinstance(src, FileError):
                batch.append(src)
        for src, facts in zip(batch, _analyse_many(batch, workers, None, exact=True)):
            src.record.facts = facts
            cache.touched()
            (context if str(src.path) in context else analysed)[str(src.path)] = facts
            src.release()
        if len(batch) < len(again):
            break  # a file gone or unreadable since: report what is known
        index = _index(request, files, analysed, context)
    cwd = Path.cwd()
    for path_str, facts in analysed.items():
        if facts.error is not None:
            report.errors.append(facts.error)
        path = Path(path_str)
        ignored_here = _ignored_codes(path, request)
        for candidate in facts.candidates:
            if not _reportable(candidate, path_str, ignored_here, request, index):
                continue
            code = candidate.code
            rule = rules[code]
            suppressed = facts.noqa.get(candidate.span.row, ())
            if code in suppressed or rule.name in suppressed:
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


def _index(request: LintRequest, files: _Files, analysed: dict[str, FileFacts],
           context: dict[str, FileFacts]) -> ProjectIndex:
    # A file the identifier screen skipped has no facts of its own: like a file
    # the text screen skipped, the resolver reads it whole if it asks about it.
    loader = _Loader(request, files, {**context, **analysed})
    return ProjectIndex((f for f in analysed.values() if f.skipped_names is None), loader=loader.load)


def _reportable(candidate, path: str, ignored_here: frozenset[str], request: LintRequest,
                index: ProjectIndex) -> bool:
    """Would `candidate` be reported, `# noqa` comments aside?"""
    if candidate.companion:
        return False
    code = candidate.code
    if code not in request.selected or code in ignored_here:
        return False
    return index.accept(candidate, path)


def _exact_again(request: LintRequest, index: ProjectIndex, analysed: dict[str, FileFacts],
                 context: dict[str, FileFacts]) -> list[FileFacts]:
    """Paths whose facts are approximate but are needed exactly: a linted file
    with a reportable candidate (a `# noqa` is matched by row, which the quick
    tree does not have), and any file holding a companion of a reportable
    candidate's group (its edits join that candidate's fix)."""
    again: dict[str, FileFacts] = {}
    groups: set[str] = set()
    for path, facts in analysed.items():
        if not facts.candidates:
            continue
        ignored_here = _ignored_codes(Path(path), request)
        reportable = [c for c in facts.candidates if _reportable(c, path, ignored_here, request, index)]
        if reportable and facts.approximate:
            again[path] = facts
        groups.update(index.canonical(c.group) for c in reportable if c.group is not None)
    if groups:
        for facts in [*analysed.values(), *context.values(), *index.modules.values()]:
            if facts.approximate and any(c.companion and c.group is not None
                                         and index.canonical(c.group, facts.path) in groups for c in facts.candidates):
                again[facts.path] = facts
    return list(again.values())


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


def _analyse_one(src: _Source, names: frozenset[str] | None, exact: bool = False) -> FileFacts:
    from sessionlint.lint_rules.analyze import analyze

    return analyze(src.data, str(src.path), src.module, src.is_package, names, exact)


def _analyse_many(batch: list[_Source], workers: "_Workers", names: frozenset[str] | None,
                  exact: bool = False) -> list[FileFacts]:
    """Facts for each file of `batch`; `names` and `exact` as for `analyze`."""
    return _start_analysis(batch, workers, names, exact)()


def _start_analysis(batch: list[_Source], workers: "_Workers", names: frozenset[str] | None,
                    exact: bool = False):
    """`_analyse_many`, started: on the workers the files are handed out now,
    and the function returned waits for their facts; in this process they are
    analysed when it is called."""
    if not batch:
        return list
    sizes = [len(s.data) for s in batch]
    total = sum(sizes)
    count = min(workers.count, len(batch))
    saved = total - max(max(sizes), total / max(count, 1))
    # Once started, the workers have the analysis code loaded and this process
    # may not: they take even a single file.
    if workers.started or (count > 1 and saved >= PARALLEL_MIN_SAVED_BYTES):
        return _analyse_in_pool(batch, workers, names, exact)

    def here() -> list[FileFacts]:
        with _young_gc_rarely():
            return [_analyse_one(src, names, exact) for src in batch]

    return here


@contextmanager
def _young_gc_rarely():
    """A parse allocates hundreds of thousands of tree nodes, which with the
    default thresholds triggers a cyclic collection every 700 allocations, each
    walking the young tree: ~10 % of the analysis time.  The trees hold no cycles
    (the model's few do, so collection stays on), so collect far less often."""
    before = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)


class _Workers:
    """The worker processes of one run: started when a batch is worth them, or
    early (`start(early=True)`) when so much source awaits analysis that they
    surely will be, and then shared by every batch of the run (the screen's
    rounds, the exact re-analysis).

    Started early, each worker imports LibCST and the rules itself (~0.3 s)
    while this process scans imports and screens, instead of this process
    importing them before it forks: that import is then off the critical path
    (the rule metadata comes from `catalog.py`, no import needed)."""

    def __init__(self, jobs: int | None):
        self.count = max(jobs if jobs is not None else (os.cpu_count() or 1), 1)
        self.pool = None
        self.used = False

    @property
    def started(self) -> bool:
        return self.pool is not None

    def start(self, early: bool = False) -> None:
        if self.pool is not None:
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        if not early:  # forked workers inherit what this process imported: import once
            _import_analysis()
        context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
        gc.freeze()  # forked workers then never touch (and so copy) the parent's pages for GC
        try:
            self.pool = ProcessPoolExecutor(max_workers=self.count, mp_context=context, initializer=_worker_init)
            for _ in range(self.count):  # the workers start (fork) on the first task
                self.pool.submit(_worker_ready)
        finally:
            gc.unfreeze()

    def close(self) -> None:
        if self.pool is None:
            return
        if not self.used:
            # Started early but nothing passed the screen: don't wait for their imports.
            for process in list(getattr(self.pool, "_processes", {}).values()):
                process.terminate()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.pool = None


# Source awaiting analysis (no cached facts) from which on the worker processes
# start before the screen: at this size enough of it passes the screen for
# a pool to pay (`PARALLEL_MIN_SAVED_BYTES`) in any project that uses sessions.
EARLY_WORKERS_MIN_BYTES = 1_000_000


def _import_analysis() -> None:
    from sessionlint.lint_rules import analyze  # noqa: F401
    from sessionlint.lint_rules.registry import all_rules

    all_rules()


def _worker_init() -> None:
    gc.set_threshold(100_000, 50, 100)  # see `_young_gc_rarely`
    _import_analysis()  # a no-op when inherited from the parent


def _worker_ready() -> None:
    """The first task of each worker: starts it."""


def _analyse_in_pool(batch: list[_Source], workers: _Workers, names: frozenset[str] | None,
                     exact: bool):
    """Hand the files to the worker processes; returns the function that waits
    for their facts.  The biggest files go first, one per task, so no worker is
    left with a long file at the end while the others idle."""
    workers.start()
    workers.used = True
    order = sorted(range(len(batch)), key=lambda i: len(batch[i].data), reverse=True)
    jobs = [(batch[i].data, str(batch[i].path), batch[i].module, batch[i].is_package, names, exact) for i in order]
    results = workers.pool.map(_analyse_job, jobs, chunksize=1)  # submits every job now

    def wait() -> list[FileFacts]:
        out: list[FileFacts] = [None] * len(batch)  # type: ignore[list-item]
        for i, facts in zip(order, results):
            out[i] = facts
        return out

    return wait


def _analyse_job(job: tuple[bytes, str, str, bool, frozenset[str] | None, bool]) -> FileFacts:
    from sessionlint.lint_rules.analyze import analyze

    return analyze(*job)


class _Loader:
    """Finds a module the linted files import but that is not itself being linted
    (pre-commit passes only changed files), so its definitions still resolve."""

    def __init__(self, request: LintRequest, files: _Files, analysed: dict[str, FileFacts]):
        self.request = request
        self.files = files
        self.analysed = analysed
        self.listings: dict = {}

    def load(self, module: str, origin: str) -> FileFacts | None:
        candidate = find_module(module, origin, self.request.root, self.listings)
        if candidate is None:
            return None
        known = self.analysed.get(str(candidate))
        if known is not None and known.skipped_names is None:
            return known
        is_package = candidate.name == "__init__.py"
        src = self.files.open(candidate, module, is_package)
        if isinstance(src, FileError):
            record = self.files.cache.record(str(candidate))
            if record is None or record.error is None:
                return None  # unreadable or too big
            return FileFacts(path=str(candidate), module=module, error=src)  # read, but not Python: exports nothing
        if src.record.facts is None or src.record.facts.skipped_names is not None:
            # Whole, not screened: it is asked about because something names it,
            # whatever the screen's names say.
            src.record.facts = _analyse_one(src, None)
            self.files.cache.touched()
        src.release()
        return src.record.facts


def find_module(module: str, origin: str, root: Path, listings: dict | None = None) -> Path | None:
    """The file that defines `module` as seen from the file `origin`: the first
    `<dir>/<module path>.py` or `<dir>/<module path>/__init__.py`, walking up from
    the importing file's directory (at most 10 levels).  `listings` caches
    directory listings for one run, so most misses cost no `stat`.  (Plain
    strings, not `Path`: a warm run asks this for every unknown import.)"""
    parts = module.split(".")
    if not all(part.isidentifier() for part in parts):
        return None
    rel = os.path.join(*parts)
    first, first_py = parts[0], parts[0] + ".py"
    directory = (os.path.dirname(origin) or ".") if origin else str(root)
    for _ in range(10):
        if listings is not None:
            names = listings.get(directory)
            if names is None:
                try:
                    names = listings[directory] = frozenset(os.listdir(directory))
                except OSError:
                    names = listings[directory] = frozenset()
            skip = first not in names and first_py not in names
        else:
            skip = False
        if not skip:
            for candidate in (os.path.join(directory, rel + ".py"), os.path.join(directory, rel, "__init__.py")):
                if os.path.isfile(candidate):
                    return Path(candidate)
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
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
    for pattern, position in _import_starts(data):
        match = pattern.match(data, position)
        if match is None:
            continue
        if pattern is _FROM_IMPORT:
            _add_from_import(match, package, out)
        else:
            for word in _WORD.findall(match.group(1)):
                parts = word.decode("ascii", "replace").split(".")
                if parts[0] != "as":
                    out.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return out


def _import_starts(data: bytes):
    """Where an import statement matched by `_FROM_IMPORT` / `_IMPORT` can start.

    Scanning the whole file with those patterns tries a match at every byte
    (~0.5 s for 13 MB, before any parsing can start).  Every such statement has
    the word `import` on the line where it starts (neither pattern lets a
    statement's head cross a newline), at the line's start or after a `;` or
    `:` on that line, so it is enough to try those places.  Each is tried on its
    own, without the non-overlapping rule of `finditer`: at worst a few more
    modules, which is harmless here."""
    seen: set[int] = set()
    index = data.find(b"import")
    while index != -1:
        line_start = data.rfind(b"\n", 0, index) + 1
        if line_start not in seen:
            seen.add(line_start)
            starts = [line_start]
            for sep in _SEPARATOR.finditer(data, line_start, index):
                starts.append(sep.start())
            for start in starts:
                yield _FROM_IMPORT, start
                yield _IMPORT, start
        else:
            for sep in _SEPARATOR.finditer(data, line_start, index):
                if sep.start() not in seen:
                    seen.add(sep.start())
                    yield _FROM_IMPORT, sep.start()
                    yield _IMPORT, sep.start()
        index = data.find(b"import", index + 6)


_SEPARATOR = re.compile(rb"[;:]")


def _add_from_import(match: re.Match, package: str, out: set[str]) -> None:
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


class _Outside:
    """Project modules (files under the root) imported, directly or through each
    other, by the linted files but not linted themselves, waiting to pass the
    screen.  Modules outside the root are left to the resolver's lazy loader; a
    session factory defined there and imported under a name that contains none of
    the screen's tokens is the one case the screen can still miss."""

    def __init__(self, request: LintRequest, sources: dict[str, _Source], files: _Files):
        self.request = request
        self.files = files
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
            for module in self.files.imports(src):
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
                found = self.files.open(path, module, path.name == "__init__.py")
                if isinstance(found, FileError):
                    continue  # unreadable, too big or not Python: it can't export anything
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
