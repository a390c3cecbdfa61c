"""Who may see the dashboard: accounts with scrypt-hashed passwords, their roles, sessions.

Accounts live in a TOML file, `recon.config.Settings.users_file` (RECON_USERS, default
`{RECON_DATA_DIR}/users.toml`):

    [users."ann"]
    role = "finance"
    password = "scrypt$131072$8$1$<salt hex>$<hash hex>"
    session = 3

A local name is 1-64 letters (any script), digits, `.`, `_`, `-` or `@`. An OIDC person's
entry is named `oidc:` + their identity at the provider (the verified e-mail, else the
`sub` claim) and has no password, so it can never be taken for a local account. `session`
is the account's session version: sign-out, a password or role change bump it, and every
session token carrying an older version names nobody from then on.

The file is written whole by a TOML writer, under a lock, to a temporary file made
owner-only (0600) from its creation, then renamed over the old one; so is `session.key`.
Plain functions, no Streamlit: `recon.app.ui` asks them. Passwords are never stored, logged or
compared in clear.

A local sign-in survives a reload through a session token kept in a cookie:
`name.session.expiry.signature`, an HMAC-SHA256 under the session secret
(`RECON_SESSION_SECRET`, else a random key kept in `{RECON_DATA_DIR}/session.key`). A token
that is altered, expired, signed under another secret, or older than its account's session
version names nobody; the role is read from the file on every run, never from the token.

Sign-in is throttled in this process: after 5 failures in a row for one name (whether it
exists or not), or 20 from one client address, each further attempt waits 30 s, doubling
per failure up to 15 min; while it waits the password is not even checked (no scrypt cost).
A success clears the name's and the client's count.
"""

from __future__ import annotations

import base64
import fcntl
import getpass
import hashlib
import hmac
import math
import os
import re
import secrets
import threading
import time
import tomllib
import unicodedata
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tomli_w
from sqlalchemy import Engine, insert

from recon.kinds import OWNERS

__all__ = [
    "MIN_PASSWORD",
    "OIDC_PREFIX",
    "ROLES",
    "AuthError",
    "Throttle",
    "TooManyAttempts",
    "User",
    "account_name",
    "add_user",
    "authenticate",
    "default_owner",
    "end_sessions",
    "hash_password",
    "load_users",
    "oidc_identity",
    "remove_user",
    "role_of",
    "roles",
    "session_secret",
    "session_user",
    "sign_token",
    "verify_password",
    "verify_token",
]

ROLES: tuple[str, ...] = ("finance", "ops", "admin")
OIDC_PREFIX = "oidc:"
MIN_PASSWORD = 12  # NIST SP 800-63B: at least 8; 15 for a password as the only factor
MAX_PASSWORD = 1024
_LOCAL_NAME = re.compile(r"[\w.@-]{1,64}")
_NAME_RULE = "1-64 letters, digits, '.', '_', '-' or '@'"
_SCHEME = "scrypt"
# OWASP password storage: scrypt N=2^17, r=8, p=1 (128 MiB per hash, 128*r*N bytes).
_N, _R, _P = 2**17, 8, 1
_MAXMEM = 2 * 128 * _R * _N  # room for the work area and OpenSSL's own overhead
_SALT_BYTES = 16
_KEY_BYTES = 32
# Verifying an unknown user costs the same as a known one (no timing hint).
_DUMMY = f"{_SCHEME}${_N}${_R}${_P}${'00' * _SALT_BYTES}${'00' * _KEY_BYTES}"
# At most two hashes at once: each takes 128 MiB, and a flood must not take the memory.
_HASHING = threading.BoundedSemaphore(2)


class AuthError(ValueError):
    """A bad account request (unknown role, bad name, short password) or an unreadable
    users file; the message says which, in one line."""


class TooManyAttempts(AuthError):
    """Sign-in refused without checking the password: too many failures just now."""


@dataclass(frozen=True)
class User:
    """A signed-in person: the name that goes in the audit trail, their role, and the
    session version their sign-in was issued under."""

    name: str
    role: str
    session: int = 0

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def default_owner(role: str) -> str | None:
    """The exception owner a role looks at by default: finance, ops, or everything (admin)."""
    return role if role in OWNERS else None


# --- names -----------------------------------------------------------------------------


def account_name(name: str, *, oidc: bool = False) -> str:
    """The account name as stored: NFC-normalised and checked. A local name is 1-64
    letters (any script), digits, `.`, `_`, `-` or `@`; an OIDC identity (an e-mail or a
    provider's `sub`) gets the `oidc:` prefix, which no local name can have."""
    text = unicodedata.normalize("NFC", name.strip())
    if oidc:
        identity = text.removeprefix(OIDC_PREFIX)
        if not identity or len(identity) > 254 or not identity.isprintable() or " " in identity:
            raise AuthError(
                f"OIDC identity {name!r} must be 1-254 printable characters without spaces"
            )
        return OIDC_PREFIX + (identity.lower() if "@" in identity else identity)
    if not _LOCAL_NAME.fullmatch(text):
        raise AuthError(f"user name {name!r} is not valid: use {_NAME_RULE}")
    return text


def oidc_identity(claims: Mapping[str, Any]) -> str | None:
    """The account name an OIDC sign-in maps to: `oidc:` + the e-mail when the provider
    says it is verified, else `oidc:` + the subject (`sub`); never a display name."""
    email, sub = claims.get("email"), claims.get("sub")
    try:
        verified = claims.get("email_verified") in (True, "true")  # some send it as text
        if isinstance(email, str) and verified:
            return account_name(email, oidc=True)
        if isinstance(sub, str):
            return account_name(sub, oidc=True)
    except AuthError:
        return None
    return None


# --- passwords -------------------------------------------------------------------------


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    with _HASHING:
        return hashlib.scrypt(
            password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=_KEY_BYTES
        )


def check_password(password: str) -> None:
    """Refuse a password shorter than MIN_PASSWORD characters (or absurdly long)."""
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AuthError(f"the password must have at most {MAX_PASSWORD} characters")


def hash_password(password: str, salt: bytes | None = None) -> str:
    """`scrypt$N$r$p$salt$key` with a fresh random salt unless one is given."""
    if not password:
        raise AuthError("the password must not be empty")
    salt = secrets.token_bytes(_SALT_BYTES) if salt is None else salt
    key = _scrypt(password, salt, _N, _R, _P)
    return f"{_SCHEME}${_N}${_R}${_P}${salt.hex()}${key.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """True when `password` hashes to `stored`; the comparison takes constant time.
    Hashes made under older (smaller) parameters still verify."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != _SCHEME:
            return False
        got = _scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p))
        return hmac.compare_digest(got, bytes.fromhex(key))
    except ValueError:  # malformed, or parameters over the memory cap
        return False


def _outdated(stored: str) -> bool:
    return not stored.startswith(f"{_SCHEME}${_N}${_R}${_P}$")


# --- the users file ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Account:
    role: str
    password: str | None
    session: int = 0


def load_users(path: Path) -> dict[str, _Account]:
    """The accounts in `path` (none when the file does not exist); bad roles are skipped.
    A password-less entry without the `oidc:` prefix (an older file's OIDC person) is
    read as `oidc:` + its name. A file that is not TOML is an AuthError naming it."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise AuthError(f"{path} is not a valid users file ({exc}); fix or remove it") from None
    except OSError as exc:  # unreadable: permissions, a directory, ...
        raise AuthError(f"cannot read the users file {path}: {exc.strerror}") from None
    out: dict[str, _Account] = {}
    for name, entry in (data.get("users") or {}).items():
        if not (isinstance(entry, dict) and entry.get("role") in ROLES):
            continue
        password = entry.get("password") if isinstance(entry.get("password"), str) else None
        session = entry.get("session")
        session = session if isinstance(session, int) else 0
        key = str(name)
        if password is None and not key.startswith(OIDC_PREFIX):
            key = OIDC_PREFIX + key
        out[key] = _Account(entry["role"], password, session)
    return out


def _write_private(path: Path, data: bytes, *, keep_existing: bool = False) -> None:
    """Write `path` whole: a temporary file, owner-only (0600) from its creation, renamed
    over it, so nobody ever reads a half-written or world-readable copy. With
    `keep_existing`, a file another process made first stays (and this data is dropped)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if keep_existing:
            with suppress(FileExistsError):
                os.link(tmp, path)  # fails when the file exists
        else:
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One writer at a time (the CLI, the dashboard's sign-outs and edits)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _write(path: Path, accounts: dict[str, _Account]) -> None:
    users: dict[str, dict[str, Any]] = {}
    for name in sorted(accounts):
        acc = accounts[name]
        entry: dict[str, Any] = {"role": acc.role}
        if acc.password is not None:
            entry["password"] = acc.password
        entry["session"] = acc.session
        users[name] = entry
    head = "# recon dashboard accounts: `recon users add NAME --role R`. Passwords are scrypt.\n"
    _write_private(path, (head + "\n" + tomli_w.dumps({"users": users})).encode("utf-8"))


@contextmanager
def _recorded(
    engine: Engine | None, actor: str | None, source: str, name: str, change: str
) -> Iterator[None]:
    """Record an account change in `account_changes`, in a transaction the file write
    runs inside of: a failed write leaves no record, a failed record no write."""
    if engine is None:
        yield
        return
    from recon.warehouse.models import AccountChange

    with engine.begin() as conn:
        conn.execute(
            insert(AccountChange).values(
                at=datetime.now(UTC),
                actor=(actor or getpass.getuser())[:300],
                source=source[:200],
                account=name[:300],
                change=change,
            )
        )
        yield


def add_user(
    path: Path,
    name: str,
    role: str,
    password: str | None,
    *,
    engine: Engine | None = None,
    actor: str | None = None,
    source: str = "cli",
) -> str:
    """Add or replace an account; returns what changed (`added`, `role finance -> ops`,
    `password changed`, ...). A change to an existing account ends its open sessions.

    `password=None` makes an account that signs in only through the OIDC provider (its
    name is the person's identity there; `oidc:` is put in front). With `engine` the change
    is recorded in `account_changes` under `actor` (default: the operating-system user)."""
    if role not in ROLES:
        raise AuthError(f"role must be one of {', '.join(ROLES)}")
    key = account_name(name, oidc=password is None)
    if password is not None:
        check_password(password)
    stored = None if password is None else hash_password(password)
    with _locked(path):
        accounts = load_users(path)
        old = accounts.get(key)
        if old is None:
            change = f"added, role {role}"
            new = _Account(role, stored)
        else:
            parts = [f"role {old.role} -> {role}"] if old.role != role else []
            parts += ["password changed"] if password is not None else []
            change = ", ".join(parts) or "replaced, unchanged"
            new = _Account(role, stored, old.session + 1)
        accounts[key] = new
        with _recorded(engine, actor, source, key, change):
            _write(path, accounts)
    return change


def remove_user(
    path: Path,
    name: str,
    *,
    engine: Engine | None = None,
    actor: str | None = None,
    source: str = "cli",
) -> None:
    """Remove an account (`oidc:` names an OIDC person's); its open sessions end with it."""
    key = unicodedata.normalize("NFC", name.strip())
    with _locked(path):
        accounts = load_users(path)
        if key not in accounts and OIDC_PREFIX + key.lower() in accounts:
            key = OIDC_PREFIX + key.lower()
        if key not in accounts:
            raise AuthError(f"no account named {name!r} in {path}")
        role = accounts.pop(key).role
        with _recorded(engine, actor, source, key, f"removed (was {role})"):
            _write(path, accounts)


def end_sessions(path: Path, name: str) -> None:
    """End every open session of `name` (sign-out): their tokens name nobody from now on."""
    with _locked(path):
        accounts = load_users(path)
        account = accounts.get(name)
        if account is not None:
            accounts[name] = replace(account, session=account.session + 1)
            _write(path, accounts)


# --- sign-in -----------------------------------------------------------------------------


class Throttle:
    """Failures per key (a name, a client): from the `free`-th in a row, the next attempt
    must wait `base` seconds, doubling per further failure, at most `cap`. In memory, per
    process; a success clears the key."""

    def __init__(self, free: int, base: float = 30.0, cap: float = 900.0) -> None:
        self.free, self.base, self.cap = free, base, cap
        self._state: dict[str, tuple[int, float]] = {}  # key -> (failures, locked until)
        self._lock = threading.Lock()

    def wait(self, key: str, now: float) -> float:
        """Seconds `key` must still wait before its next attempt (0: it may try now)."""
        with self._lock:
            return max(0.0, self._state.get(key, (0, 0.0))[1] - now)

    def failed(self, key: str, now: float) -> None:
        with self._lock:
            if len(self._state) > 100_000:  # a flood of names: forget the unlocked ones
                self._state = {k: v for k, v in self._state.items() if v[1] > now}
            count = self._state.get(key, (0, 0.0))[0] + 1
            over = count - self.free  # the `free`-th failure in a row starts the wait
            delay = 0.0 if over < 0 else min(self.cap, self.base * 2**over)
            self._state[key] = (count, now + delay)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._state.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._state.clear()


ACCOUNT_THROTTLE = Throttle(free=5)
CLIENT_THROTTLE = Throttle(free=20)


def authenticate(
    path: Path, name: str, password: str, *, client: str | None = None, now: float | None = None
) -> User | None:
    """The user when `name` has a local password and `password` matches it, else None.

    Raises TooManyAttempts (without checking the password) while the name or the client
    must wait. A hash made under older scrypt parameters is re-made on success."""
    clock = time.monotonic() if now is None else now
    key = unicodedata.normalize("NFC", name.strip())
    throttled = [(ACCOUNT_THROTTLE, f"name:{key}")]
    if client:
        throttled.append((CLIENT_THROTTLE, f"client:{client}"))
    wait = max(throttle.wait(k, clock) for throttle, k in throttled)
    if wait > 0:
        raise TooManyAttempts(f"Too many failed sign-ins; try again in {math.ceil(wait)} s.")
    account = load_users(path).get(key) if not key.startswith(OIDC_PREFIX) else None
    stored = account.password if account is not None else None
    ok = verify_password(password, stored or _DUMMY)
    if account is None or stored is None or not ok:
        for throttle, k in throttled:
            throttle.failed(k, clock)
        return None
    for throttle, k in throttled:
        throttle.succeeded(k)
    if _outdated(stored):
        _rehash(path, key, password, stored)
    return User(key, account.role, account.session)


def _rehash(path: Path, name: str, password: str, old: str) -> None:
    fresh = hash_password(password)
    with _locked(path):
        accounts = load_users(path)
        account = accounts.get(name)
        if account is not None and account.password == old:  # unchanged meanwhile
            accounts[name] = replace(account, password=fresh)
            _write(path, accounts)


def roles(path: Path) -> dict[str, str]:
    """Every account's name and role: who an exception can be assigned to."""
    return {name: account.role for name, account in load_users(path).items()}


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
    if not path.exists():  # two servers starting at once end up with the same key
        _write_private(path, secrets.token_hex(32).encode("ascii"), keep_existing=True)
    return path.read_bytes().strip()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _mac(secret: bytes, body: str) -> str:
    return _b64(hmac.new(secret, body.encode("ascii"), hashlib.sha256).digest())


def sign_token(name: str, session: int, secret: bytes, *, now: float | None = None) -> str:
    """A token naming `name` under session version `session` until SESSION_SECONDS from
    `now` (default: the clock)."""
    expires = int(time.time() if now is None else now) + SESSION_SECONDS
    body = f"{_b64(name.encode('utf-8'))}.{int(session)}.{expires}"
    return f"{body}.{_mac(secret, body)}"


def verify_token(token: str, secret: bytes, *, now: float | None = None) -> tuple[str, int] | None:
    """The (name, session version) a token signed under `secret` carries, or None when it
    is malformed, altered or expired. The signature is compared in constant time."""
    try:
        encoded, session, expires, signature = token.split(".")
        body = f"{encoded}.{session}.{expires}"
        if not hmac.compare_digest(_mac(secret, body), signature):
            return None
        if int(expires) <= (time.time() if now is None else now):
            return None
        name = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
        return name, int(session)
    except (ValueError, TypeError, UnicodeError):  # TypeError: a non-ASCII signature
        return None


def session_user(path: Path, token: str, secret: bytes, *, now: float | None = None) -> User | None:
    """Who a session token signs in now: its signature and expiry hold, its account still
    exists with a local password, and no sign-out, password or role change ended it since.
    The role is the account's role now, whatever it was at sign-in."""
    claim = verify_token(token, secret, now=now)
    if claim is None:
        return None
    name, session = claim
    account = load_users(path).get(name)
    if account is None or account.password is None or account.session != session:
        return None
    return User(name, account.role, session)
