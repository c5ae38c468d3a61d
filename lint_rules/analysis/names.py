"""Qualified names of the library symbols the rules care about.

Names are spelled the way a user can import them; several spellings of one class
(``sqlalchemy.orm.Session`` and ``sqlalchemy.orm.session.Session``) are listed so
that resolution through either import path works.
"""

from __future__ import annotations

SESSION_CLASSES = frozenset(
    {
        "sqlalchemy.orm.Session",
        "sqlalchemy.orm.session.Session",
        "sqlalchemy.ext.asyncio.AsyncSession",
        "sqlalchemy.ext.asyncio.session.AsyncSession",
        "sqlmodel.Session",
        "sqlmodel.orm.session.Session",
        "sqlmodel.ext.asyncio.session.AsyncSession",
    }
)

ASYNC_SESSION_CLASSES = frozenset(
    name for name in SESSION_CLASSES if name.endswith("AsyncSession")
)

SESSION_MAKERS = frozenset(
    {
        "sqlalchemy.orm.sessionmaker",
        "sqlalchemy.orm.session.sessionmaker",
        "sqlalchemy.ext.asyncio.async_sessionmaker",
        "sqlalchemy.ext.asyncio.session.async_sessionmaker",
    }
)

# Registries that hand out a thread- or task-local session: not a new session per
# call, so they are not session factories for the lifecycle rules.
SCOPED_REGISTRIES = frozenset(
    {
        "sqlalchemy.orm.scoped_session",
        "sqlalchemy.orm.scoping.scoped_session",
        "sqlalchemy.ext.asyncio.async_scoped_session",
        "sqlalchemy.ext.asyncio.scoping.async_scoped_session",
    }
)

DEPENDS_MARKERS = frozenset(
    {
        "fastapi.Depends",
        "fastapi.Security",
        "fastapi.params.Depends",
        "fastapi.params.Security",
        "fastapi.param_functions.Depends",
        "fastapi.param_functions.Security",
    }
)

ANNOTATED = frozenset({"typing.Annotated", "typing_extensions.Annotated"})
OPTIONAL_WRAPPERS = frozenset(
    {"typing.Optional", "typing_extensions.Optional", "typing.Union"}
)

CACHE_DECORATORS = frozenset(
    {"functools.lru_cache", "functools.cache", "functools.cached_property"}
)
CONTEXT_MANAGER_DECORATORS = frozenset(
    {"contextlib.contextmanager", "contextlib.asynccontextmanager"}
)
PYTEST_FIXTURES = frozenset(
    {"pytest.fixture", "pytest_asyncio.fixture", "pytest_asyncio.plugin.fixture"}
)

# Importing one of these marks a module as part of a long-running, concurrent
# application (where a process-wide session is shared between requests).
WEB_FRAMEWORK_ROOTS = frozenset(
    {
        "fastapi", "starlette", "flask", "quart", "django", "aiohttp", "sanic",
        "litestar", "tornado", "falcon", "bottle", "pyramid", "celery", "dramatiq",
        "uvicorn", "hypercorn", "gunicorn", "grpc", "strawberry", "ariadne",
        "graphene", "connexion", "responder", "robyn", "socketio", "websockets",
    }
)

REQUEST_CLASSES = frozenset(
    {
        "fastapi.Request", "fastapi.WebSocket", "starlette.requests.Request",
        "starlette.requests.HTTPConnection", "starlette.websockets.WebSocket",
        "fastapi.requests.Request", "fastapi.websockets.WebSocket",
    }
)

# Parameter names that, by long convention, carry the request in handlers and
# middlewares (used when the parameter has no annotation).
REQUEST_PARAM_NAMES = frozenset({"request", "req", "websocket", "ws", "conn", "scope"})

# Library roots whose symbols are never project session factories: a call into
# them is decided here, without asking the resolver.
KNOWN_LIBRARY_ROOTS = frozenset(
    {
        "sqlalchemy", "sqlmodel", "fastapi", "starlette", "pydantic", "typing",
        "typing_extensions", "collections", "functools", "contextlib", "asyncio",
        "anyio", "requests", "httpx", "aiohttp", "boto3", "botocore", "os", "sys",
        "json", "logging", "datetime", "re", "pathlib", "dataclasses", "threading",
        "concurrent", "uuid", "time", "enum", "abc", "itertools", "math", "random",
        "pytest", "unittest", "flask", "flask_sqlalchemy", "django", "celery",
        "redis", "alembic", "psycopg", "psycopg2", "pymysql", "asyncpg", "aiosqlite",
        "sqlite3", "urllib", "http", "socket", "ssl", "email", "hashlib", "secrets",
        "base64", "io", "tempfile", "shutil", "subprocess", "inspect", "warnings",
        "traceback", "copy", "operator", "weakref", "contextvars", "types", "uvicorn",
        "jose", "jwt", "passlib", "bcrypt", "starlette_context", "requests_oauthlib",
        "google", "azure", "numpy", "pandas",
    }
)
