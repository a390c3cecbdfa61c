"""Which ERP customer a POS order posts to: the one matched by its e-mail, else the guest.

A Sitoo order carries the customer's `email` when the cashier attached one (often empty on
POS sales). The poster asks its ERP for the active customers with that e-mail (NetSuite
customer `email`, SAP B1 business partner `EmailAddress` of type customer, Sage 200
`/customer_emails` of the customer's contacts); exactly one match is the order's customer.
The e-mail is compared as the ERP compares it (SAP B1 on HANA: with case; NetSuite:
without; Sage 200: as its OData `eq` does). No e-mail, no match, or several matches (which
one would be a guess) post to the mappings' guest customer. Customers are never created
here. Answers are kept for the run, so each e-mail is asked once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from recon.clients.sitoo import SitooOrder

__all__ = ["Customers", "order_email"]

K = TypeVar("K", str, int)  # the ERP's customer id


def order_email(order: SitooOrder) -> str | None:
    """The order's customer e-mail, trimmed; None when absent or not an address."""
    email = (order.email or "").strip()
    if "@" not in email or any(c in email for c in "\"' "):
        return None
    return email


class Customers(Generic[K]):
    """The customer id per order: `find(email)` gives the ERP ids of the active customers
    with that e-mail; `guest()` the guest customer's id."""

    def __init__(self, find: Callable[[str], list[K]], guest: Callable[[], K]) -> None:
        self._find: Callable[[str], list[K]] = find
        self._guest: Callable[[], K] = guest
        self._known: dict[str, K | None] = {}
        self._lock = threading.Lock()

    def for_order(self, order: SitooOrder) -> K:
        email = order_email(order)
        if email is None:
            return self._guest()
        key = email.casefold()
        with self._lock:
            cached = key in self._known
            found = self._known.get(key)
        if not cached:
            ids = sorted(set(self._find(email)))
            found = ids[0] if len(ids) == 1 else None
            with self._lock:
                self._known[key] = found
        return found if found is not None else self._guest()
