"""A stand-in for an SMTP client: sending one mail takes a while."""

import time

from sessionlint.harness.staging import checkpoint

# A typical SMTP round trip to a relay. Long enough that a database connection
# held across it is noticeable, short enough to keep the demo quick.
SMTP_ROUND_TRIP = 0.3


def send_mail(to: str, subject: str, body: str) -> None:
    # A no-op unless the stress harness parks this job here, mid-send (same in both arms).
    checkpoint("sending_mail")
    time.sleep(SMTP_ROUND_TRIP)
