"""`[tool.sessionlint]` settings: where they come from and what they mean.

Looked up like ruff does: `--config FILE` if given, else the nearest
`pyproject.toml` with a `[tool.sessionlint]` table (or a `sessionlint.toml` /
`.sessionlint.toml`) walking up from the first linted path.  Relative patterns
are relative to the directory of the file that declares them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class ConfigError(Exception):
    """A problem with the user's configuration or command line (exit code 2)."""


KNOWN_KEYS = {
    "select", "extend-select", "ignore", "exclude", "extend-exclude", "per-file-ignores",
    "respect-gitignore", "force-exclude", "cache-dir", "max-file-size", "output-format",
}


@dataclass
class Config:
    path: Path | None = None
    #: how messages name the settings' origin, e.g. "/p/pyproject.toml [tool.sessionlint]"
    where: str = ""
    root: Path = field(default_factory=Path.cwd)
    select: list[str] | None = None
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    exclude: list[str] | None = None
    extend_exclude: list[str] = field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    respect_gitignore: bool = True
    force_exclude: bool = False
    cache_dir: Path | None = None
    max_file_size: int = 4 * 1024 * 1024
    output_format: str | None = None


def find_config(start: Path) -> Path | None:
    directory = start if start.is_dir() else start.parent
    directory = directory.resolve()
    for candidate_dir in [directory, *directory.parents]:
        for name in (".sessionlint.toml", "sessionlint.toml"):
            if (candidate_dir / name).is_file():
                return candidate_dir / name
        pyproject = candidate_dir / "pyproject.toml"
        if pyproject.is_file():
            try:
                data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
                return pyproject  # let load_config report it properly
            tool = data.get("tool")
            if isinstance(tool, dict) and "sessionlint" in tool:
                return pyproject
    return None


def load_config(path: Path | None) -> Config:
    if path is None:
        return Config()
    path = path.resolve()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not valid UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}; fix the file or pass --config with another one") from None
    if path.name == "pyproject.toml":
        tool = data.get("tool", {})
        table = tool.get("sessionlint", {}) if isinstance(tool, dict) else {}
        where = f"{path} [tool.sessionlint]"
    else:
        table = data
        where = str(path)
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table of settings")
    unknown = sorted(set(table) - KNOWN_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown setting(s) {', '.join(map(repr, unknown))}; "
            f"known settings are: {', '.join(sorted(KNOWN_KEYS))}"
        )
    config = Config(path=path, root=path.parent, where=where)

    def strings(key: str) -> list[str] | None:
        if key not in table:
            return None
        value = table[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: `{key}` must be a list of strings, got {value!r}")
        return value

    def boolean(key: str, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: `{key}` must be true or false, got {value!r}")
        return value

    config.select = strings("select")
    config.extend_select = strings("extend-select") or []
    config.ignore = strings("ignore") or []
    config.exclude = strings("exclude")
    config.extend_exclude = strings("extend-exclude") or []
    pfi = table.get("per-file-ignores", {})
    if not isinstance(pfi, dict) or not all(
        isinstance(v, list) and all(isinstance(c, str) for c in v) for v in pfi.values()
    ):
        raise ConfigError(f'{where}: `per-file-ignores` must map glob patterns to lists of codes, e.g. {{"tests/*" = ["SL001"]}}')
    config.per_file_ignores = dict(pfi)
    config.respect_gitignore = boolean("respect-gitignore", True)
    config.force_exclude = boolean("force-exclude", False)
    if "cache-dir" in table:
        if not isinstance(table["cache-dir"], str):
            raise ConfigError(f"{where}: `cache-dir` must be a string")
        config.cache_dir = (config.root / table["cache-dir"]).resolve()
    if "max-file-size" in table:
        value = table["max-file-size"]
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ConfigError(f"{where}: `max-file-size` must be a positive number of bytes")
        config.max_file_size = value
    if "output-format" in table:
        formats = ("text", "json", "sarif", "github", "junit")
        if table["output-format"] not in formats:
            raise ConfigError(f"{where}: `output-format` must be one of {', '.join(formats)}, got {table['output-format']!r}")
        config.output_format = table["output-format"]
    return config
