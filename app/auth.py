"""Who may see the dashboard: local accounts with scrypt-hashed passwords, and their roles.

Accounts live in a TOML file named by `RECON_USERS` (default `{RECON_DATA_DIR}/users.toml`):

    [users."ann"]
    role = "finance"
    password = "scrypt$16384$8$1$<salt hex>$<hash hex>"

An entry without `password` can only sign in through the OIDC provider (its name is the
e-mail the provider returns); it still gives that person a role. Plain functions, no
Streamlit: `app.ui` asks them. Passwords are never stored, logged or compared in clear.

A local sign-in survives a reload through a session token kept in a cookie:
`name.expiry.signature`, an HMAC-SHA256 under the session secret (`RECON_SESSION_SECRET`,
else a random key kept in `{RECON_DATA_DIR}/session.key`). A token that is altered,
expired, or signed under another secret names nobody.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ROLES",
    "AuthError",
    "User",
    "add_user",
    "authenticate",
    "default_owner",
    "hash_password",
    "load_users",
    "role_of",
    "session_secret",
    "sign_token",
    "users_path",
    "verify_password",
    "verify_token",
]

ROLES: tuple[str, ...] = ("finance", "ops", "admin")
_SCHEME = "scrypt"
_N, _R, _P = 2**14, 8, 1
_SALT_BYTES = 16
_KEY_BYTES = 32
# Verifying an unknown user costs the same as a known one (no timing hint).
_DUMMY = f"{_SCHEME}${_N}${_R}${_P}${'00' * _SALT_BYTES}${'00' * _KEY_BYTES}"


class AuthError(ValueError):
    """A bad account request (unknown role, empty name or password); the message says which."""


@dataclass(frozen=True)
class User:
    """A signed-in person: the name that goes in the audit trail, and their role."""

    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def default_owner(role: str) -> str | None:
    """The exception owner a role looks at by default: finance, ops, or everything (admin)."""
    return role if role in ("finance", "ops") else None


def users_path(data_dir: Path | str | None = None) -> Path:
    """`RECON_USERS`, else `users.toml` in `data_dir` (default `RECON_DATA_DIR`, else `var/`)."""
    named = os.environ.get("RECON_USERS")
    if named:
        return Path(named)
    base = data_dir if data_dir is not None else os.environ.get("RECON_DATA_DIR", "var")
    return Path(base) / "users.toml"


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=2**26, dklen=_KEY_BYTES
    )


def hash_password(password: str, salt: bytes | None = None) -> str:
    """`scrypt$N$r$p$salt$key` with a fresh random salt unless one is given."""
    if not password:
        raise AuthError("the password must not be empty")
    salt = secrets.token_bytes(_SALT_BYTES) if salt is None else salt
    key = _scrypt(password, salt, _N, _R, _P)
    return f"{_SCHEME}${_N}${_R}${_P}${salt.hex()}${key.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """True when `password` hashes to `stored`; the comparison takes constant time."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != _SCHEME:
            return False
        got = _scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p))
        return hmac.compare_digest(got, bytes.fromhex(key))
    except ValueError:
        return False


@dataclass(frozen=True)
class _Account:
    role: str
    password: str | None


def load_users(path: Path) -> dict[str, _Account]:
    """The accounts in `path` (none when the file does not exist); bad roles are skipped."""
    if not path.exists():
        return {}
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out: dict[str, _Account] = {}
    for name, entry in (data.get("users") or {}).items():
        if isinstance(entry, dict) and entry.get("role") in ROLES:
            password = entry.get("password")
            out[str(name)] = _Account(
                entry["role"], password if isinstance(password, str) else None
            )
    return out


def _write(path: Path, accounts: dict[str, _Account]) -> None:
    lines = ["# recon dashboard accounts: `recon users add NAME --role R`. Passwords are scrypt."]
    for name in sorted(accounts):
        acc = accounts[name]
        lines += ["", f"[users.{json.dumps(name)}]", f"role = {json.dumps(acc.role)}"]
        if acc.password is not None:
            lines.append(f"password = {json.dumps(acc.password)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)


def add_user(path: Path, name: str, role: str, password: str | None) -> bool:
    """Add or replace an account; returns True when it replaced one.

    `password=None` makes an account that signs in only through the OIDC provider.
    """
    name = name.strip()
    if not name:
        raise AuthError("the user name must not be empty")
    if role not in ROLES:
        raise AuthError(f"role must be one of {', '.join(ROLES)}")
    stored = None if password is None else hash_password(password)
    accounts = load_users(path)
    existed = name in accounts
    accounts[name] = _Account(role, stored)
    _write(path, accounts)
    return existed


def authenticate(path: Path, name: str, password: str) -> User | None:
    """The user when `name` has a local password and `password` matches it, else None."""
    account = load_users(path).get(name.strip())
    stored = account.password if account is not None else None
    ok = verify_password(password, stored or _DUMMY)
    if account is None or stored is None or not ok:
        return None
    return User(name.strip(), account.role)


def role_of(path: Path, name: str) -> str | None:
    """The role of `name` in the accounts file (OIDC sign-ins get theirs this way)."""
    account = load_users(path).get(name)
    return account.role if account is not None else None


# --- session tokens --------------------------------------------------------------------

SESSION_SECONDS = 12 * 3600  # a sign-in lasts a working day


def session_secret(configured: str | None, data_dir: Path | str) -> bytes:
    """The key session tokens are signed with: `configured` (RECON_SESSION_SECRET) when set,
    else the one in `data_dir/session.key`, made (random, owner-only) the first time."""
    if configured:
        return configured.encode("utf-8")
    path = Path(data_dir) / "session.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(secrets.token_hex(32), encoding="utf-8")
        tmp.chmod(0o600)
        tmp.replace(path)
    return path.read_bytes().strip()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _mac(secret: bytes, body: str) -> str:
    return _b64(hmac.new(secret, body.encode("ascii"), hashlib.sha256).digest())


def sign_token(name: str, secret: bytes, *, now: float | None = None) -> str:
    """A token naming `name` until SESSION_SECONDS from `now` (default: the clock)."""
    expires = int(time.time() if now is None else now) + SESSION_SECONDS
    body = f"{_b64(name.encode('utf-8'))}.{expires}"
    return f"{body}.{_mac(secret, body)}"


def verify_token(token: str, secret: bytes, *, now: float | None = None) -> str | None:
    """The name a token signed under `secret` carries, or None when it is malformed,
    altered or expired. The signature is compared in constant time."""
    try:
        encoded, expires, signature = token.split(".")
        body = f"{encoded}.{expires}"
        if not hmac.compare_digest(_mac(secret, body), signature):
            return None
        if int(expires) <= (time.time() if now is None else now):
            return None
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
    except (ValueError, TypeError, UnicodeError):  # TypeError: a non-ASCII signature
        return None
