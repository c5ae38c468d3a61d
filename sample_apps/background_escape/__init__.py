"""Sample app pair for SL10 session-escapes-request (background tasks).

A sign-up service: ``POST /signup`` stores a user and queues a background job
that sends the welcome mail and then logs it in ``mail_log``. The two arms differ
only in what the job gets (``diff -r unsafe safe``):

* ``unsafe`` -- the request's Session and the ``User`` it loaded
  (``tasks.add_task(send_welcome, db, user)``). On FastAPI >= 0.118 background
  tasks run *before* the request's yield dependencies are torn down, so the job
  works, but reading ``user.email`` (expired by the commit) reloads it through the
  request's Session, which checks a pooled connection out and keeps it -- in an
  open transaction -- for the whole SMTP round trip. A few slow mails exhaust the
  pool and every other request times out. On FastAPI 0.106-0.117 the Session is
  already closed when the job runs: ``DetachedInstanceError``, and no mail is
  logged although the sign-up answered 201.
* ``safe`` -- the job gets the new user's id and address, sends the mail with no
  Session at all, and opens its own short Session to log it.

Both arms call ``checkpoint("sending_mail")`` (``sessionlint.harness.staging``) in
``mail.send_mail``: a no-op unless ``sessionlint stress`` parks a job there (see
``harness/scenarios/background_escape.py``).
"""
