"""One concrete HTTP request of a traffic mix, and user-listed ones from a file.

``--requests-file`` is JSON (a list, or ``{"requests": [...]}``) or TOML
(``[[requests]]`` tables); each entry has ``method`` (default GET), ``path``, and
optionally ``body`` (sent as JSON)::

    [[requests]]
    method = "POST"
    path = "/items"
    body = {name = "x"}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}


@dataclass(frozen=True, eq=False)
class RequestSpec:
    method: str
    path: str
    body: Any = None
    template: str | None = None  # the operation it came from, e.g. "GET /items/{item_id}"

    @property
    def label(self) -> str:
        return self.template or f"{self.method} {self.path.split('?')[0]}"

    def __eq__(self, other) -> bool:
        return isinstance(other, RequestSpec) and (self.method, self.path, json.dumps(self.body, sort_keys=True, default=str)) \
            == (other.method, other.path, json.dumps(other.body, sort_keys=True, default=str))

    def __hash__(self) -> int:
        return hash((self.method, self.path))


class RequestsFileError(ValueError):
    pass


def load_requests_file(path: str) -> list[RequestSpec]:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise RequestsFileError(f"--requests-file {path}: {exc.strerror or exc}") from exc
    try:
        if file.suffix.lower() == ".toml":
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10: the tomli backport (a dependency there)
                import tomli as tomllib

            data = tomllib.loads(text)
        else:
            data = json.loads(text)
    except ValueError as exc:
        raise RequestsFileError(f"--requests-file {path}: not valid {file.suffix.lstrip('.').upper() or 'JSON'}: {exc}") from exc
    entries = data.get("requests") if isinstance(data, dict) else data
    if not isinstance(entries, list) or not entries:
        raise RequestsFileError(f"--requests-file {path}: expected a non-empty list of requests "
                                "(JSON list, or {\"requests\": [...]}, or TOML [[requests]] tables)")
    specs = []
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) or not entry["path"].startswith("/"):
            raise RequestsFileError(f"--requests-file {path}: request {number} needs a \"path\" starting with /")
        method = str(entry.get("method", "GET")).upper()
        if method not in METHODS:
            raise RequestsFileError(f"--requests-file {path}: request {number} has unknown method {method!r}")
        specs.append(RequestSpec(method, entry["path"], entry.get("body")))
    return specs
