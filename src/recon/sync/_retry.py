"""The posters' one retry rule: a look-up-then-write step runs again after a transient
failure (429, 5xx, timeout, record lock), with exponential backoff; anything else is final."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from recon.clients import TransientError

T = TypeVar("T")


def retry_transient(step: Callable[[], T], attempts: int, wait: float) -> T:
    """Run `step`, again after a `TransientError`, at most `attempts` times in all."""
    retry = Retrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=wait, max=30),
        retry=retry_if_exception_type(TransientError),
        reraise=True,
    )
    return retry(step)
