"""Reading an ERP's master data for the pushes: records that do not fit are problems."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from pydantic import BaseModel

from recon.clients import Fetched
from recon.warehouse.runs import RunLog

T = TypeVar("T", bound=BaseModel)


def fitting(fetched: Iterable[Fetched[T]], run: RunLog, what: str, left: str = "") -> Iterator[T]:
    """The records that fit; each one that does not is a problem of `run` naming `what` it
    is (e.g. "sapb1 item") and what is `left` undone because of it."""
    for f in fetched:
        if f.item is not None:
            yield f.item
        else:
            run.problem(f"{what} {f.key}: does not fit ({f.error})" + (f"; {left}" if left else ""))
