"""The results cache: one index file per (tool version, analysis code, settings).

A warm run reads that one file and `stat`s the linted files; it reads no source.
The index maps each path to a `FileRecord`: the file's stat signature (size,
mtime, inode, ctime) when it was last read, the content key (hash of the bytes + module name, which relative
imports depend on), and what was learned from that content -- the screen tokens
it contains, the modules it imports, a decode error, and the analysis facts if it
was parsed.  A file whose signature still matches is taken from its record;
otherwise it is read and hashed, and a record whose key still matches (a `touch`,
a checkout) keeps its facts.  The inode and ctime catch what size and mtime
alone miss: a file moved or copied (`mv`, `cp -p`, rsync) over a cached path
keeps its own old mtime.  The cross-file resolve step is never cached.

Racy writes: a file changed again within one timestamp tick of being read keeps
its signature.  Records whose mtime is within `RACY_SECONDS` of the start
of the run (every read happens after it) are stored unverified, so the next run
reads and hashes those files again.

Concurrent runs (pre-commit starts several): the index is replaced atomically,
so a reader sees one whole index; the last writer wins, and a record lost that
way, or an older one put back, only costs a re-read, since every record is
checked against the file's current signature before use.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sessionlint import __version__
from sessionlint.lint_rules.facts import FileFacts

_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# sessionlint cache directory; see https://bford.info/cachedir/\n"
_FORMAT = 6  # bump when FileRecord or the index layout changes
RACY_SECONDS = 2.0
UNVERIFIED = None  # a signature no file has: forces a read + hash


def signature(info: os.stat_result) -> tuple[int, int, int, int]:
    """What a file's record is validated by: (size, mtime_ns, inode, ctime_ns)."""
    return (info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns)


def content_key(data: bytes, module: str, is_package: bool) -> str:
    digest = hashlib.blake2b(data, digest_size=16)
    digest.update(f"\0{module}\0{is_package}".encode())
    return digest.hexdigest()


def _code_fingerprint(_memo: list[str] = []) -> str:
    """Identifies the analysis code itself: an editable install (or a checkout
    between releases) changes the rules without changing `__version__`, and stale
    facts from the old code must not be served.  Built from each source file's
    path, size and mtime (no reads: this runs on every invocation)."""
    if not _memo:
        digest = hashlib.blake2b(digest_size=8)
        package = Path(__file__).resolve().parent
        for directory, dirnames, filenames in os.walk(package):
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith(".py"):
                    path = os.path.join(directory, name)
                    try:
                        info = os.stat(path)
                    except OSError:
                        continue
                    digest.update(f"{os.path.relpath(path, package)}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
        _memo.append(digest.hexdigest())
    return _memo[0]


@dataclass(slots=True)
class FileRecord:
    """What one version of one file is known to contain."""

    signature: tuple[int, int, int, int] | None
    key: str
    #: the module name and package-ness the key was computed with
    module: str
    is_package: bool
    #: why the file can't be linted (NUL byte, undecodable), or None
    error: str | None = None
    #: screen tokens this content was searched for, and those it contains
    checked: frozenset[str] = frozenset()
    found: frozenset[str] = frozenset()
    #: codes of the rules whose `screen_patterns` match (None: not computed yet)
    patterns: frozenset[str] | None = None
    #: modules its import statements may name (None: not computed yet)
    imports: frozenset[str] | None = None
    facts: FileFacts | None = None

    def matches(self, info: os.stat_result) -> bool:
        return self.signature is not None and self.signature == signature(info)


def index_path(directory: Path, settings_key: str = "") -> Path:
    name = hashlib.blake2b(
        f"{__version__}\0{_code_fingerprint()}\0{settings_key}\0{_FORMAT}".encode(), digest_size=8
    ).hexdigest()
    return directory / __version__ / f"results-{name}.pickle"


class ResultCache:
    """The index: path -> `FileRecord`.  Without a directory it is an in-memory
    index for one run (so a run without cache shares the same code path)."""

    def __init__(self, directory: Path | None, settings_key: str = ""):
        self.directory = directory
        self.records: dict[str, FileRecord] = {}
        self._used: set[str] = set()  # paths this run asked about
        self._dirty = False
        self._started = time.time_ns()  # every file this run reads is read after this
        self._file = index_path(directory, settings_key) if directory is not None else None
        if self._file is not None:
            self.records = _load(self._file)

    # -- records ------------------------------------------------------------------
    def record(self, path: str) -> FileRecord | None:
        self._used.add(path)
        return self.records.get(path)

    def store(self, path: str, record: FileRecord) -> None:
        self._used.add(path)
        self.records[path] = record
        self._dirty = True

    def touched(self) -> None:
        """A record was updated in place (screen tokens, imports, facts)."""
        self._dirty = True

    # -- facts by content key (the resolver's lazy loader) --------------------------
    def get(self, path: str, key: str) -> FileFacts | None:
        record = self.records.get(path)
        if record is not None and record.key == key:
            return record.facts
        return None

    def save(self) -> None:
        if self._file is None or not self._dirty:
            return
        # Forget deleted files (only when writing anyway: a run that changed
        # nothing costs no extra stat).  Records of files this run didn't look
        # at but that still exist stay: a pre-commit run on one file must not
        # throw away the rest of the project's cache.
        for path in [p for p in self.records if p not in self._used and not os.path.exists(p)]:
            del self.records[path]
        # Relative to the run's start, not to now: a file read early in a long
        # run and changed again in the same tick is still caught.
        racy = self._started - int(RACY_SECONDS * 1e9)
        for record in self.records.values():
            if record.signature is not None and record.signature[1] >= racy:
                record.signature = UNVERIFIED
        try:
            prepare(self.directory)
            write_atomically(self._file, {"format": _FORMAT, "records": self.records})
        except OSError:
            pass  # a read-only checkout still lints; it just can't cache
        self._dirty = False


def prepare(directory: Path) -> Path:
    """Create the cache directory (tagged, git-ignored) and its version folder;
    raises OSError if it can't be written."""
    folder = directory / __version__
    folder.mkdir(parents=True, exist_ok=True)
    if not (directory / "CACHEDIR.TAG").exists():
        (directory / "CACHEDIR.TAG").write_text(_TAG)
        (directory / ".gitignore").write_text("# created by sessionlint\n*\n")
    return folder


def write_atomically(path: Path, value: object) -> None:
    """Pickle `value` to `path` through a temporary file and a rename, so a
    concurrent reader sees the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _load(path: Path) -> dict[str, FileRecord]:
    """The stored records, or none: a missing, truncated, foreign or corrupt index
    is just a cold run (every record is type-checked, never trusted blindly)."""
    try:
        with open(path, "rb") as handle:
            loaded = pickle.load(handle)
    except Exception:
        return {}
    if not isinstance(loaded, dict) or loaded.get("format") != _FORMAT or not isinstance(loaded.get("records"), dict):
        return {}
    return {
        key: record
        for key, record in loaded["records"].items()
        if isinstance(key, str)
        and isinstance(record, FileRecord)
        and (record.facts is None or isinstance(record.facts, FileFacts))
    }
