"""The explicit table of rules: stable codes are public API, so they are listed
here by hand rather than discovered (greppable, and a rename can't change a code)."""

from __future__ import annotations

from importlib import import_module

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
