"""The dashboard under streamlit.testing.v1.AppTest, signed in: what every page test shares.

`app(page, role, **params)` is the app signed in as an account with `role` (None: signed
out), switched to `page` with `params` in its URL; the `data` fixture (tests/app/conftest.py)
points it at a temp warehouse, a users file and this SECRET.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from recon.app.auth import sign_token
from tests.app.users import cheap_hash, write_users

MAIN = Path(__file__).parents[2] / "src" / "recon" / "app" / "main.py"
SECRET = b"page-test-secret"
TIMEOUT = 30


def sign_in(at: AppTest, role: str, name: str = "ann") -> None:
    """`name` as an account with `role` in RECON_USERS, and `at` signed in as them (the
    session token a sign-in keeps; the role is read from the file on every run)."""
    users = Path(os.environ["RECON_USERS"])
    write_users(users, {name: {"role": role, "password": cheap_hash("pw" * 6)}}, merge=True)
    at.session_state["_session_token"] = sign_token(name, 0, SECRET)


def app(
    page: str | None = None, role: str | None = "admin", name: str = "ann", **params: str
) -> AppTest:
    """The app signed in as `name` with `role` (None: anonymous), on `page` with `params`."""
    at = AppTest.from_file(str(MAIN), default_timeout=TIMEOUT)
    if role is not None:
        sign_in(at, role, name)
    if page:  # through st.navigation: a first run registers the pages
        at.run().switch_page(page)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def shown(markdown: str) -> str:
    """What a reader sees of Markdown text: backslash escapes (`ui.literal`) undone."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: shown(m.value) for m in at.metric}


def table_with(at: AppTest, column: str) -> Any:
    """The first table showing `column` (tables without on_select carry no key)."""
    return next(df.value for df in at.dataframe if column in df.value.columns)


def ids(at: AppTest, key: str) -> list[str]:
    """The exception ids of the table keyed `key`, top to bottom."""
    frame: Any = at.dataframe(key=key).value
    return list(frame["id"])
