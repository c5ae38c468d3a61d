"""Per-file results cache: one pickle per (tool version, analysis settings).

A warm run reads one file.  Entries are keyed by path and validated by the file's
content hash (plus module name, which relative imports depend on), so an edited
file is re-analysed and everything else is reused.  The cross-file resolve step
is never cached.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path

from sessionlint import __version__
from sessionlint.lint_rules.facts import FileFacts

_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# sessionlint cache directory; see https://bford.info/cachedir/\n"


def content_key(data: bytes, module: str, is_package: bool) -> str:
    digest = hashlib.blake2b(data, digest_size=16)
    digest.update(f"\0{module}\0{is_package}".encode())
    return digest.hexdigest()


def _code_fingerprint(_memo: list[str] = []) -> str:
    """A hash of the analysis code itself: an editable install (or a checkout
    between releases) changes the rules without changing `__version__`, and stale
    facts from the old code must not be served."""
    if not _memo:
        digest = hashlib.blake2b(digest_size=8)
        package = Path(__file__).resolve().parent
        for path in sorted(package.rglob("*.py")):
            try:
                digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
            except OSError:
                pass
        _memo.append(digest.hexdigest())
    return _memo[0]


class ResultCache:
    def __init__(self, directory: Path | None, settings_key: str = ""):
        self.directory = directory
        self._entries: dict[str, tuple[str, FileFacts]] = {}
        self._dirty = False
        self._file = None
        if directory is not None:
            name = hashlib.blake2b(f"{__version__}\0{_code_fingerprint()}\0{settings_key}".encode(), digest_size=8).hexdigest()
            self._file = directory / __version__ / f"results-{name}.pickle"
            try:
                with open(self._file, "rb") as handle:
                    loaded = pickle.load(handle)
                if isinstance(loaded, dict):
                    self._entries = {
                        path: entry
                        for path, entry in loaded.items()
                        if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], FileFacts)
                    }
            except Exception:
                self._entries = {}  # a missing or corrupt cache is just a cold run

    def get(self, path: str, key: str) -> FileFacts | None:
        entry = self._entries.get(path)
        if entry is not None and entry[0] == key:
            return entry[1]
        return None

    def put(self, path: str, key: str, facts: FileFacts) -> None:
        self._entries[path] = (key, facts)
        self._dirty = True

    def save(self) -> None:
        if self._file is None or not self._dirty:
            return
        try:
            self._file.parent.mkdir(parents=True, exist_ok=True)
            root = self.directory
            if not (root / "CACHEDIR.TAG").exists():
                (root / "CACHEDIR.TAG").write_text(_TAG)
                (root / ".gitignore").write_text("# created by sessionlint\n*\n")
            fd, tmp = tempfile.mkstemp(dir=self._file.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                pickle.dump(self._entries, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self._file)
        except OSError:
            pass  # a read-only checkout still lints; it just can't cache
