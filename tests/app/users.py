"""Accounts for tests: a users file written directly, with cheap (pre-OWASP) hashes."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import Any

import tomli_w


def cheap_hash(password: str, salt: bytes = b"\0" * 16) -> str:
    """A hash under small (pre-OWASP) parameters: fast to check, and due for a re-hash."""
    key = hashlib.scrypt(password.encode(), salt=salt, n=2**10, r=8, p=1, dklen=32)
    return f"scrypt${2**10}$8$1${salt.hex()}${key.hex()}"


def write_users(path: Path, users: dict[str, dict[str, Any]], *, merge: bool = False) -> None:
    """Write `users` as the users file (`merge`: over the accounts already there)."""
    old = tomllib.loads(path.read_text(encoding="utf-8")) if merge and path.exists() else {}
    path.write_text(tomli_w.dumps({"users": {**old.get("users", {}), **users}}), "utf-8")
