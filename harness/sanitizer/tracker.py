"""The sanitizer's state machine: sessions, transactions, checkouts, engines, requests.

`listeners` turns SQLAlchemy events into calls here; `middleware` reports request
start/response/end. Every check that needs shared state runs under one lock; the
hot paths (a use of a session already seen in this request) do a dictionary
lookup and a few comparisons.

What "use" means: the session executes a statement, flushes, begins a database
transaction, or gets an object attached. Executions and flushes are *windows*
(they have a start and an end), so two threads or tasks inside one session at the
same time are seen as overlapping windows, not guessed from timing.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import Counter
from dataclasses import dataclass, field

from .context import Actor, RequestInfo, current_actor, current_request, inside_session, on_event_loop_thread
from .findings import Finding
from .sites import Site, stack_functions, user_site, user_site_and_modules

SCOPED_MODULES = ("sqlalchemy.orm.scoping", "sqlalchemy.ext.asyncio.scoping")


@dataclass(eq=False)
class SessionRecord:
    number: int
    site: Site
    created_in: RequestInfo | None
    created_after_response: bool = False
    before_install: bool = False  # first seen in use: made before the sanitizer was installed
    scoped: bool = False  # made through a scoped_session / async_scoped_session registry
    last_request: RequestInfo | None = None
    reported: set = field(default_factory=set)  # (kind, request id...) already reported
    active: dict = field(default_factory=dict)  # Actor -> [depth, RequestInfo | None]
    txn_open: bool = False  # a database transaction (a connection) is held
    txn_request: RequestInfo | None = None  # the request it began in
    connection_ids: set = field(default_factory=set)  # id() of the DBAPI connections it holds

    def describe_origin(self) -> str:
        if self.before_install:
            return f"first seen at {self.site} (made before the sanitizer was installed)"
        if self.created_in is None:
            return f"created outside any request at {self.site}"
        return f"created by {self.created_in.label()} at {self.site}"

    def sharing_codes(self) -> tuple[str, ...]:
        """The lint codes for 'this session is used by more than its own request'."""
        if self.scoped:
            return ("SL009", "SL002")
        if self.created_in is None:
            return ("SL001", "SL002")
        return ("SL002", "SL009")


@dataclass(eq=False)
class Checkout:
    connection_id: int  # id() of the DBAPI connection
    record_id: int  # id() of the pool's connection record: the key in Tracker.checkouts
    request: RequestInfo | None
    site: Site
    session: SessionRecord | None = None  # the session whose execute/flush checked it out
    at: float = field(default_factory=time.perf_counter)


@dataclass(eq=False)
class EngineRecord:
    url: str
    site: Site  # where its first connection was made (SQLAlchemy has no engine-created event)
    request: RequestInfo | None
    url_object: object = None  # sqlalchemy URL, password included: for the PostgreSQL probe


# Findings kept per (kind, site); beyond that only counted, so a bug hit by every request
# of a long run costs a counter, not a Finding per request.
MAX_KEPT_PER_SITE = 50

_active: Tracker | None = None


def active() -> Tracker | None:
    """The installed sanitizer's tracker (None when no sanitizer is installed)."""
    return _active


def set_active(tracker: Tracker | None) -> None:
    global _active
    _active = tracker


class Tracker:
    def __init__(self) -> None:
        # Re-entrant: code under the lock allocates, which can run the garbage
        # collector, which can finalize a pool connection nobody returned, whose
        # check-in event lands in `checked_in` -- on this very thread, lock held.
        # With a plain Lock that deadlocked a load run.
        self.lock = threading.RLock()
        self.findings: list[Finding] = []
        self.kept: Counter = Counter()  # (kind, site) -> findings kept in `findings`
        self.dropped: Counter = Counter()  # (kind, site) -> further occurrences, only counted
        self.sessions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self.engines: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self.engines_first_used_in_requests: dict[Site, list[EngineRecord]] = {}
        self.checkouts: dict[int, Checkout] = {}  # id(connection record) -> the open checkout
        self.connection_owner: dict[int, SessionRecord] = {}  # id(DBAPI connection) -> session holding it
        self.blocking_sites: set[Site] = set()
        self.requests_seen = 0
        self.sessions_seen = 0
        self.engines_seen = 0
        self._numbers = iter(range(1, 1 << 62))

    # -- sessions ----------------------------------------------------------------

    def session_created(self, session) -> None:
        request = current_request()
        site, scoped = user_site_and_modules(skip=2, wanted=SCOPED_MODULES)
        record = SessionRecord(
            number=next(self._numbers),
            site=site,
            created_in=request,
            created_after_response=bool(request and request.response_sent),
            scoped=scoped,
        )
        with self.lock:
            self.sessions[session] = record
            self.sessions_seen += 1

    def record(self, session) -> SessionRecord:
        record = self.sessions.get(session)
        if record is None:  # made before install (or by a subclass that skipped __init__)
            record = SessionRecord(number=next(self._numbers), site=user_site(skip=3), created_in=None,
                                   before_install=True)
            with self.lock:
                if session not in self.sessions:
                    self.sessions_seen += 1
                record = self.sessions.setdefault(session, record)
        return record

    def use(self, session, what: str, actor: Actor | None = None) -> SessionRecord:
        """A session is used (`what`: execute, flush, attach, begin): the sharing, escape and
        concurrency checks. Returns its record."""
        record = self.record(session)
        request = current_request()
        if request is not None and record.last_request is not request:
            self._check_sharing(record, request)
        if request is not None and request.response_sent and record.created_in is request \
                and not record.created_after_response:
            self._check_after_response(record, request, what)
        if record.active:  # someone is inside this session right now (read without the lock: a hint)
            self._check_concurrency(record, request, actor or current_actor(), what)
        return record

    def enter(self, record: SessionRecord, actor: Actor) -> None:
        with self.lock:
            slot = record.active.get(actor)
            if slot is None:
                record.active[actor] = [1, current_request()]
            else:
                slot[0] += 1

    def leave(self, record: SessionRecord, actor: Actor) -> None:
        with self.lock:
            slot = record.active.get(actor)
            if slot is not None:
                slot[0] -= 1
                if slot[0] <= 0:
                    del record.active[actor]

    def _check_sharing(self, record: SessionRecord, request: RequestInfo) -> None:
        with self.lock:
            record.last_request = request
            key = ("sharing", request.id)
            if key in record.reported:
                return
            record.reported.add(key)
        if record.created_in is None:
            self._add(Finding(
                "session-created-outside-request", record.sharing_codes(), record.site,
                f"session {record.describe_origin()} is used by {request.label()}",
                requests=(request.label(),)))
        elif record.created_in is not request:
            self._add(Finding(
                "session-shared-between-requests", record.sharing_codes(), record.site,
                f"session {record.describe_origin()} is used by {request.label()}"
                + (" (a scoped_session registry handed it out again)" if record.scoped else ""),
                requests=(record.created_in.label(), request.label())))

    def _check_after_response(self, record: SessionRecord, request: RequestInfo, what: str) -> None:
        frames = stack_functions(skip=3)
        in_teardown = any(module == "contextlib" and function in ("__exit__", "__aexit__") for module, function in frames)
        if in_teardown:
            # A yield dependency's code after `yield` (FastAPI >= 0.118 runs it after the
            # response): closing or rolling back there is right; committing is SL007.
            if what != "flush":
                return
            kind, codes = "commit-after-response", ("SL007",)
            message = f"session {record.describe_origin()} flushed/committed in dependency teardown after {request.label()} was answered"
        else:
            kind, codes = "session-used-after-response", ("SL010",)
            message = (f"session {record.describe_origin()} is used ({what}) at {user_site(skip=3)} "
                       f"after {request.label()} sent its response")
        with self.lock:
            if (kind,) in record.reported:
                return
            record.reported.add((kind,))
        self._add(Finding(kind, codes, record.site, message, requests=(request.label(),)))

    def _check_concurrency(self, record: SessionRecord, request: RequestInfo | None, actor: Actor, what: str) -> None:
        with self.lock:
            others = [(other, slot[1]) for other, slot in record.active.items() if other != actor and slot[0] > 0]
        if not others:
            return
        other_actor, other_request = others[0]
        if other_request is request and request is not None:
            if actor.is_task and other_actor.is_task and actor.thread == other_actor.thread:
                codes, how = ("SL008",), "by two asyncio tasks of one request"
            else:
                codes, how = ("SL010", "SL008"), "by two threads of one request"
        elif (other_request is None or request is None) and record.created_in is not None:
            # A plain threading.Thread does not inherit the request's context: a request's
            # session used there has escaped its request.
            codes, how = ("SL010", "SL008"), "by its request and by a thread/task outside any request"
        else:
            codes, how = record.sharing_codes(), "by two different requests"
        pair = tuple(r.label() if r is not None else "(outside any request)" for r in (other_request, request))
        key = ("concurrent", pair)
        with self.lock:
            if key in record.reported:
                return
            record.reported.add(key)
        self._add(Finding("concurrent-session-use", codes, record.site,
                          f"session {record.describe_origin()} was used ({what}) {how} at the same time",
                          requests=pair))

    # -- transactions and connections -----------------------------------------------

    def transaction_began(self, session, connection) -> None:
        record = self.use(session, "begin")
        request = current_request()
        dbapi_id = _dbapi_id(connection)
        with self.lock:
            record.txn_open = True
            if record.txn_request is None:
                record.txn_request = request
                if request is not None:
                    request.sessions.append(record)
            if dbapi_id is not None:
                record.connection_ids.add(dbapi_id)
                self.connection_owner[dbapi_id] = record

    def transaction_ended(self, session, transaction) -> None:
        if transaction.parent is not None:  # a savepoint or a flush's subtransaction
            return
        record = self.sessions.get(session)
        if record is None:
            return
        with self.lock:
            record.txn_open = False
            record.txn_request = None
            for dbapi_id in record.connection_ids:
                if self.connection_owner.get(dbapi_id) is record:
                    del self.connection_owner[dbapi_id]
            record.connection_ids.clear()

    def checked_out(self, dbapi_connection, connection_record) -> None:
        request = current_request()
        # Inside a session's execute/flush the checkout is that session's (its site is known);
        # only a bare engine.connect() pays for a stack walk.
        session = inside_session()
        site = session.site if session is not None else user_site(skip=2)
        checkout = Checkout(id(dbapi_connection), id(connection_record), request, site, session)
        with self.lock:
            self.checkouts[id(connection_record)] = checkout
            if request is not None:
                request.checkouts.append(checkout)

    def checked_in(self, connection_record) -> None:
        with self.lock:
            self.checkouts.pop(id(connection_record), None)

    # -- engines and blocking I/O ------------------------------------------------------

    def engine_connected(self, engine) -> None:
        if engine in self.engines:
            return
        request = current_request()
        record = EngineRecord(engine.url.render_as_string(hide_password=True), user_site(skip=2), request, engine.url)
        with self.lock:
            if engine in self.engines:
                return
            self.engines[engine] = record
            self.engines_seen += 1
            if request is None:
                return
            same_site = self.engines_first_used_in_requests.setdefault(record.site, [])
            same_site.append(record)
            # One engine first used by a request may simply be lazily connected; a second
            # one from the same code is an engine per request.
            if len(same_site) < 2:
                return
            reported = same_site[:-1] if len(same_site) == 2 else []
        for earlier in reported + [record]:
            pair = (same_site[0].request.label(), earlier.request.label()) if earlier is not same_site[0] \
                else (earlier.request.label(),)
            self._add(Finding(
                "engine-created-per-request", ("SL011",), record.site,
                f"a new engine for {record.url} made its first connection while serving "
                f"{earlier.request.label()} ({len(same_site)} engines so far from this code)",
                requests=pair))

    def cursor_execute(self, connection) -> None:
        """Blocking I/O check: a sync driver executing on the event loop's thread in a request."""
        if connection.dialect.is_async or current_request() is None or not on_event_loop_thread():
            return
        site = user_site(skip=2)
        with self.lock:
            first = site not in self.blocking_sites
            self.blocking_sites.add(site)
        request = current_request()
        self._add(Finding("blocking-session-in-async", ("SL012",), site,
                          f"a sync {connection.dialect.name} driver ran a statement on the event loop thread"
                          + (" (every other request waited)" if first else ""),
                          requests=(request.label(),)))

    # -- requests ----------------------------------------------------------------------

    def request_started(self, request: RequestInfo) -> None:
        with self.lock:
            self.requests_seen += 1

    def response_sent(self, request: RequestInfo) -> None:
        request.response_sent = True

    def request_ended(self, request: RequestInfo) -> None:
        found: list[Finding] = []
        with self.lock:
            request.ended = True
            for record in request.sessions:
                if not (record.txn_open and record.txn_request is request):
                    continue
                if record.created_in is request:
                    codes = ("SL004", "SL003", "SL005") if request.failed else ("SL003", "SL005", "SL004")
                    if record.scoped:
                        codes = ("SL009",) + codes
                    found.append(Finding(
                        "session-left-open", codes, record.site,
                        f"session {record.describe_origin()} still held a connection when the request ended"
                        + (f" (the request failed: {request.error or request.status})" if request.failed else ""),
                        requests=(request.label(),)))
                else:
                    found.append(Finding(
                        "transaction-left-open", ("SL016",) + record.sharing_codes(), record.site,
                        f"session {record.describe_origin()} began a transaction in {request.label()} "
                        "that was still open when the request ended",
                        requests=(request.label(),)))
            for checkout in request.checkouts:
                if self.checkouts.get(checkout.record_id) is not checkout:  # returned already
                    continue
                owner = self.connection_owner.get(checkout.connection_id)
                if owner is not None and owner.txn_open:
                    continue  # reported above as the session's problem
                if checkout.session is not None:
                    what = f"a connection checked out by session {checkout.session.describe_origin()}"
                    codes = checkout.session.sharing_codes() if checkout.session.created_in is not request \
                        else ("SL003", "SL005")
                else:
                    what, codes = f"a connection checked out at {checkout.site}", ("SL003", "SL005")
                found.append(Finding(
                    "connection-left-checked-out", codes, checkout.site,
                    f"{what} was still checked out when {request.label()} ended",
                    requests=(request.label(),)))
            request.sessions = []
            request.checkouts = []
        for finding in found:
            self._add(finding)

    # -- idle ------------------------------------------------------------------------

    def idle_findings(self) -> list[Finding]:
        """Connections still checked out now that no request is running (call it when idle)."""
        now = time.perf_counter()
        found = []
        with self.lock:
            for checkout in list(self.checkouts.values()):  # a re-entrant check-in may pop one
                owner = self.connection_owner.get(checkout.connection_id) or checkout.session
                if owner is not None:
                    site, origin = owner.site, f"session {owner.describe_origin()}"
                    if owner.scoped:
                        codes = ("SL009", "SL003")
                    elif owner.created_in is None:
                        codes = ("SL016", "SL001")
                    else:
                        codes = ("SL003", "SL004", "SL005")
                else:
                    site, origin, codes = checkout.site, f"a connection checked out at {checkout.site}", ("SL003", "SL005")
                where = checkout.request.label() if checkout.request is not None else "outside any request"
                found.append(Finding(
                    "connection-held-at-idle", codes, site,
                    f"{origin} has held a connection for {now - checkout.at:.2f} s since {where}",
                    requests=(where,)))
        return found

    def open_transactions(self) -> list[SessionRecord]:
        with self.lock:
            return [record for record in list(self.sessions.values()) if record.txn_open]

    def _add(self, finding: Finding) -> None:
        key = (finding.kind, finding.site)
        with self.lock:
            if self.kept[key] < MAX_KEPT_PER_SITE:
                self.kept[key] += 1
                self.findings.append(finding)
            else:
                self.dropped[key] += 1


def _dbapi_id(connection) -> int | None:
    try:
        return id(connection.connection.dbapi_connection)
    except Exception:  # an invalidated or closed connection
        return None
