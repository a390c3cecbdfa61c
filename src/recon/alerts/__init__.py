"""Alerts: after each reconcile run, tell each owner (finance / ops) about exceptions that
are new to them or ageing, one digest per owner and channel (webhook JSON, plain e-mail),
and finance about the sign-offs the runs reopened (one message per channel).

Reads exceptions and sign-off events and writes only `exception_events` and
`signoff_events` rows (what was sent); never changes an exception or a sign-off, never puts
a setting or secret in a message.
"""

from recon.alerts.channels import DeliveryFailed
from recon.alerts.digest import Alert, Digest
from recon.alerts.run import send_alerts
from recon.alerts.settings import OWNERS, AgeThresholds

__all__ = [
    "OWNERS",
    "AgeThresholds",
    "Alert",
    "DeliveryFailed",
    "Digest",
    "send_alerts",
]
