"""The explicit table of rules: stable codes are public API, so they are listed
here by hand rather than discovered (greppable, and a rename can't change a code)."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING

from sessionlint import __version__
from sessionlint.lint_rules.model import Severity

if TYPE_CHECKING:
    from sessionlint.lint_rules.rule import Rule

# code -> (module in lint_rules/rules, class name)
_TABLE: dict[str, tuple[str, str]] = {
    "SL001": ("sl001_global_session", "GlobalSession"),
    "SL002": ("sl002_session_on_shared_object", "SessionOnSharedObject"),
    "SL003": ("sl003_session_not_closed", "SessionNotClosed"),
    "SL004": ("sl004_close_not_in_finally", "CloseNotInFinally"),
    "SL005": ("sl005_dependency_returns_session", "DependencyReturnsSession"),
    "SL006": ("sl006_missing_rollback", "MissingRollback"),
    "SL007": ("sl007_commit_in_teardown", "CommitInTeardown"),
    "SL008": ("sl008_async_session_shared_across_tasks", "AsyncSessionSharedAcrossTasks"),
    "SL009": ("sl009_scoped_session_in_async", "ScopedSessionInAsync"),
    "SL010": ("sl010_session_escapes_request", "SessionEscapesRequest"),
    "SL011": ("sl011_engine_per_request", "EnginePerRequest"),
    "SL012": ("sl012_blocking_session_in_async", "BlockingSessionInAsync"),
    "SL013": ("sl013_async_expire_on_commit", "AsyncExpireOnCommit"),
    "SL014": ("sl014_removed_sqlalchemy_api", "RemovedSqlalchemyApi"),
    "SL015": ("sl015_read_modify_write", "ReadModifyWrite"),
    "SL016": ("sl016_transaction_held_across_io", "TransactionHeldAcrossIo"),
    "SL017": ("sl017_on_event_lifecycle", "OnEventLifecycle"),
}

_cache: dict[str, type[Rule]] | None = None


def all_rules() -> dict[str, type[Rule]]:
    """Every rule class, by code, in code order."""
    global _cache
    if _cache is None:
        _cache = {}
        for code, (module, cls) in _TABLE.items():
            rule = getattr(import_module(f"sessionlint.lint_rules.rules.{module}"), cls)
            assert rule.code == code, f"{module}.{cls} declares {rule.code}, registered as {code}"
            _cache[code] = rule
    return _cache


def by_name() -> dict[str, type[Rule]]:
    return {rule.name: rule for rule in all_rules().values()}


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """A rule's metadata without its code: what selection, the screen and the
    reports need.  Duck-types the rule class for those uses."""

    code: str
    name: str
    severity: Severity
    default: bool
    screen_tokens: frozenset[str]
    screen_patterns: tuple[str, ...]
    doc_text: str
    url_text: str

    def doc(self) -> str:
        return self.doc_text

    def url(self) -> str:
        return self.url_text

    @classmethod
    def of(cls, rule: type[Rule]) -> "RuleInfo":
        return cls(rule.code, rule.name, rule.severity, rule.default, frozenset(rule.screen_tokens),
                   tuple(rule.screen_patterns), rule.doc(), rule.url())


def rule_catalog(cache_dir: Path | None = None) -> dict[str, RuleInfo]:
    """Every rule's metadata, by code.  Importing the rules imports LibCST (~0.2 s),
    which a run that parses nothing (warm cache, or nothing passes the screen)
    should not pay, so the table is kept in the cache directory under the same
    code fingerprint as the results: edited rules mean a fresh table."""
    from sessionlint.lint_rules import cache

    path = cache_dir / __version__ / f"rules-{cache._code_fingerprint()}.pickle" if cache_dir is not None else None
    if path is not None:
        try:
            with open(path, "rb") as handle:
                table = pickle.load(handle)
            if isinstance(table, dict) and table and all(
                isinstance(code, str) and isinstance(info, RuleInfo) and info.code == code for code, info in table.items()
            ):
                return table
        except Exception:
            pass  # missing or unreadable: rebuild it below
    table = {code: RuleInfo.of(rule) for code, rule in all_rules().items()}
    if path is not None:
        try:
            cache.prepare(cache_dir)
            cache.write_atomically(path, table)
        except OSError:
            pass
    return table
