"""Sample app pair for SL015 read-modify-write: the honest control. NOT a session-scope bug.

A tiny bank: ``POST /accounts/{id}/deposit {"amount": n}`` adds n to an account's
balance and answers the new balance; ``GET /accounts/{id}`` reads it. The app opens
a few accounts with a zero balance at startup.

Both arms use the *correct* session pattern -- a Session per request from the
``get_db`` yield dependency, closed in ``finally`` -- and still differ in
correctness:

* ``unsafe`` -- read-modify-write in Python: ``account = db.get(Account, id)``,
  ``account.balance = account.balance + amount``, ``commit()``. Two deposits that
  read the same balance both write "old balance + their amount", and one deposit
  vanishes. Every request answers 200; nothing raises.
* ``safe`` -- one atomic statement, ``UPDATE accounts SET balance = balance +
  :amount``: the database adds to whatever the balance is when the row lock is
  taken, so concurrent deposits queue up instead of overwriting each other.

The lesson: per-request sessions are necessary but not sufficient. A lost update
is a transaction-isolation problem (Adya P4); fix it with an atomic UPDATE,
``SELECT ... FOR UPDATE`` (``with_for_update()``), a ``version_id_col``, or
SERIALIZABLE with retries.

Both arms call ``checkpoint("before_write")`` (``sessionlint.harness.staging``) just
before they write the balance (the unsafe arm has read it by then): a no-op unless
``sessionlint stress`` stages an interleaving there (see
``harness/scenarios/lost_update.py``).
"""
