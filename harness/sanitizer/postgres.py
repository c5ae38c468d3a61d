"""Confirm open transactions on PostgreSQL: the ``pg_stat_activity`` rows in "idle in transaction".

Read through a separate, unpooled connection to the app's own database (never
one of the app's pooled connections, which may be the very ones held open).
"""

from __future__ import annotations

from importlib.util import find_spec
from typing import Any

QUERY = (
    "SELECT pid, state, EXTRACT(EPOCH FROM now() - state_change) AS idle_seconds, "
    "left(query, 160) AS last_query FROM pg_stat_activity "
    "WHERE datname = current_database() AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid() "
    "ORDER BY pid"
)


def idle_in_transaction(urls) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows for every PostgreSQL database among `urls` (SQLAlchemy URL objects), and problems met."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    seen = set()
    for url in urls:
        if url.get_backend_name() != "postgresql":
            continue
        sync_url = url.set(drivername="postgresql+psycopg" if find_spec("psycopg") else "postgresql")
        key = sync_url.render_as_string(hide_password=False)
        if key in seen:
            continue
        seen.add(key)
        engine = create_engine(sync_url, poolclass=NullPool)
        try:
            with engine.connect() as connection:
                for row in connection.execute(text(QUERY)).mappings():
                    rows.append({"database": url.database, "pid": row["pid"], "state": row["state"],
                                 "idle_seconds": round(float(row["idle_seconds"] or 0), 3),
                                 "last_query": row["last_query"]})
        except Exception as exc:  # the probe is evidence, not the verdict: report and go on
            problems.append(f"could not read pg_stat_activity on {url.render_as_string(hide_password=True)}: "
                            f"{type(exc).__name__}: {exc}")
        finally:
            engine.dispose()
    return rows, problems
