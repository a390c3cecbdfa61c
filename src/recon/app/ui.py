"""Streamlit glue shared by the pages: the engine, cached queries, filters kept in the URL.

The only module (with the pages) that imports Streamlit. Queries are cached with a short
TTL keyed by the warehouse URL and the filters, and read through the render's one read
transaction (`reading`, which `main` runs each page in); workflow actions clear the cache. No SQL
and no business rules here: those live in `recon.app.queries` and `recon.app.workflow`.

Over 600 lines, kept as one module because it holds one concern: the Streamlit glue (sessions,
cached queries, URL filters, shared widgets).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Concatenate, NoReturn, ParamSpec, TypeVar

import polars as pl
import streamlit as st
from sqlalchemy import Connection, Engine

from recon.app import auth, queries, whatif
from recon.app.auth import User
from recon.app.causes import cause_text
from recon.app.filters import FILTER_KEYS, KINDS, OWNERS, STATUS_CHOICES, Filters
from recon.app.money import store_label, value_text
from recon.config import ConfigError, Settings, load_settings
from recon.config.mappings import MapSettings
from recon.reconcile import WhatIf
from recon.snapshot import SnapshotError
from recon.warehouse.chain import Chain
from recon.warehouse.db import open_warehouse

P = ParamSpec("P")
R = TypeVar("R")

HEATMAP_DAYS = 28  # the overview heatmap's default window: four weeks up to the latest day

TTL_SECONDS = 60
ANY_OWNER = "any"
USER_KEY = "user"
COOKIE = "recon_session"
_SIGNED_OUT = "_signed_out"
_TOKEN = "_session_token"  # this session's token, as the cookie should carry it

# --- text from outside: shown as written -----------------------------------------------

_MARKDOWN = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character


def literal(text: object) -> str:
    """Vendor- or user-written text for an element that renders Markdown (st.markdown,
    caption, error / warning / info / toast, subheader, metric values, button and radio
    labels): every ASCII punctuation character backslash-escaped, so a tender name like
    `[sign in](http://evil/)` or `![](http://evil/x.png)` shows as those characters, never
    as a link, an image, HTML, colour or maths. Plain tables (st.dataframe, st.json,
    st.text, selectbox options) show text as it is and need none of this."""
    return _MARKDOWN.sub(r"\\\1", str(text))


# --- who is signed in ------------------------------------------------------------------


def oidc_configured() -> bool:
    """True when `.streamlit/secrets.toml` has an `[auth]` section (Streamlit OIDC login)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file, or one Streamlit cannot parse: local accounts
        return False


def _settings_or_none() -> Any:
    try:
        return load_settings()
    except ConfigError:
        return None


def _settings() -> Settings:
    """The settings; a configuration error stops the page (one line naming the variable)."""
    try:
        return load_settings()
    except ConfigError as exc:
        st.error(literal(exc))
        st.stop()


def users_file() -> Path:
    return _settings().users_file


def _secret() -> bytes:
    settings = _settings()
    configured = settings.recon_session_secret
    secret = configured.get_secret_value() if configured else None
    return auth.session_secret(secret, settings.recon_data_dir)


def request_cookies() -> Mapping[str, str]:
    """The cookies the browser sent when this session connected (a reload sends them anew)."""
    return st.context.cookies


def client_address() -> str | None:
    """The address the browser connects from (the proxy's, behind one): sign-in throttling
    counts failures per client by it."""
    return st.context.ip_address


def oidc_claims() -> Mapping[str, Any]:
    return st.user.to_dict()


def _accounts_error(exc: auth.AuthError) -> NoReturn:
    st.error(str(exc))
    st.stop()


def current_user() -> User | None:
    """The signed-in user, checked on every run: from the OIDC provider (the account of
    their `sub` or verified e-mail), else this session's token or a reload's session cookie,
    valid only while unexpired and no sign-out, removal, password or role change has ended
    it. The role is the account's role now."""
    try:
        if oidc_configured():
            if not st.user.is_logged_in:
                return None
            name = auth.oidc_identity(oidc_claims())
            role = auth.role_of(users_file(), name) if name else None
            return User(name, role) if name and role else None
        token = st.session_state.get(_TOKEN)
        if token is None and not st.session_state.get(_SIGNED_OUT):
            token = request_cookies().get(COOKIE)  # a reload: the browser's cookie
        user = auth.session_user(users_file(), token, _secret()) if token else None
    except auth.AuthError as exc:  # the users file is broken: say so, show nothing
        _accounts_error(exc)
    if user is None:
        st.session_state.pop(USER_KEY, None)
        st.session_state.pop(_TOKEN, None)
        if token:  # ended or expired: sync_cookie clears the browser's copy
            st.session_state[_SIGNED_OUT] = True
        return None
    st.session_state[USER_KEY] = user
    st.session_state[_TOKEN] = token
    return user


def account_roles() -> dict[str, str]:
    """The dashboard's accounts, name -> role (read each run: an account removed a moment
    ago is no longer offered as an assignee)."""
    try:
        return auth.roles(users_file())
    except auth.AuthError as exc:
        _accounts_error(exc)


def sign_in(user: User) -> None:
    """Sign `user` in for this session, and (through `sync_cookie`) for reloads."""
    st.session_state[USER_KEY] = user
    st.session_state.pop(_SIGNED_OUT, None)
    st.session_state[_TOKEN] = auth.sign_token(user.name, user.session, _secret())


def sync_cookie() -> None:
    """Make the browser's session cookie this session's token, or clear it when signed out.

    Streamlit sets no cookies of its own, so a line of JavaScript does it, on every run
    until the browser sends the cookie back (a run can be cut short by a page switch).
    """
    sent = request_cookies().get(COOKIE)
    wanted = st.session_state.get(_TOKEN) if st.session_state.get(USER_KEY) else None
    if wanted == sent or (wanted is None and not st.session_state.get(_SIGNED_OUT)):
        return
    age = auth.SESSION_SECONDS if wanted else 0
    st.html(
        f"<script>document.cookie = '{COOKIE}={wanted or ''}; path=/; max-age={age}; "
        "SameSite=Strict' + (location.protocol === 'https:' ? '; Secure' : '');</script>",
        unsafe_allow_javascript=True,
    )


def require_user() -> User:
    """The signed-in user; a page reached without one stops here (main.py routes to login)."""
    user = current_user()
    if user is None:
        st.stop()
    return user


def require_role(*roles: str) -> User:
    """The signed-in user if their role is one of `roles`; anyone else stops here."""
    user = require_user()
    if user.role not in roles:
        st.error(f"This page is for {' and '.join(roles)}.")
        st.stop()
    return user


def sign_out() -> None:
    """End this person's sessions (this tab, their other tabs, a copied cookie)."""
    user = st.session_state.get(USER_KEY)
    if isinstance(user, User) and not user.name.startswith(auth.OIDC_PREFIX):
        try:
            auth.end_sessions(users_file(), user.name)
        except (auth.AuthError, OSError) as exc:  # this tab still signs out
            st.error(f"could not end your other sessions: {exc}")
    st.session_state.pop(USER_KEY, None)
    st.session_state.pop(_LAST, None)
    st.session_state.pop(_TOKEN, None)
    st.session_state[_SIGNED_OUT] = True  # sync_cookie clears the browser's cookie
    if oidc_configured():
        st.logout()


# --- engine and cached queries ---------------------------------------------------------


def _engine(url: str) -> Engine:
    return open_warehouse(url).engine


@dataclass
class _Render:
    """This render's reads: one connection per warehouse, opened at its first query."""

    stack: ExitStack
    conns: dict[str, Connection] = field(default_factory=dict)


_RENDER: ContextVar[_Render | None] = ContextVar("_RENDER", default=None)


@contextmanager
def reading() -> Iterator[None]:
    """One page render reads one state: every query run inside (a cached one when its cache
    misses) reads through the same read transaction (`Warehouse.reading`), so a run or an
    action committing mid-render shows whole on the next render, never half on this one.
    `main` runs each page inside it."""
    with ExitStack() as stack:
        token = _RENDER.set(_Render(stack))
        try:
            yield
        finally:
            _RENDER.reset(token)


def _read(
    url: str, query: Callable[Concatenate[Connection, P], R], *args: P.args, **kwargs: P.kwargs
) -> R:
    """`query` on this render's read of the warehouse at `url` (opened at its first query).
    Outside a render (a widget's callback runs before the page) it reads on its own."""
    render = _RENDER.get()
    if render is None:
        with open_warehouse(url).reading() as conn:
            return query(conn, *args, **kwargs)
    mine = render.conns.get(url)
    if mine is None:
        mine = render.conns[url] = render.stack.enter_context(open_warehouse(url).reading())
    return query(mine, *args, **kwargs)


def warm_up() -> None:
    """Open the warehouse and read what every first page needs, for the sign-in page to
    call once drawn: the first page after sign-in then skips the connection, the schema
    check and the cold reads. Nothing is shown; a problem shows on the page that needs it.
    """
    from sqlalchemy.exc import SQLAlchemyError

    # The browser loads a widget's code the first time one is drawn; draw the overview's
    # kinds once, hidden, so the first page after sign-in does not wait for them.
    st.html("<style>.st-key-preload{display:none}</style>")
    with st.container(key="preload"):
        st.metric("preload", 0)
        st.dataframe(pl.DataFrame({"preload": [0]}), key="preload_grid")

    try:
        url = load_settings().warehouse_url
        _engine(url)
        latest_day(url)
        store_options(url)
        store_names(url)
        freshness(url)
        for owner in (None, *OWNERS):  # whoever signs in, their first page is read already
            first = Filters(owner=owner)
            totals(url, first)
            changes(url, first)
            heatmap_cells(url, _window(url, first, HEATMAP_DAYS))
    except (ConfigError, SQLAlchemyError, OSError):
        return


def warehouse_url() -> str:
    """The warehouse URL from the settings; a configuration error stops the page."""
    return _settings().warehouse_url


def engine(url: str) -> Engine:
    try:
        return _engine(url)
    except ConfigError as exc:
        st.error(literal(exc))
        st.stop()


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def drift(url: str, filters: Filters) -> pl.DataFrame:
    return _read(url, queries.drift_by_store_day, filters)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def exceptions(url: str, filters: Filters) -> pl.DataFrame:
    return _read(url, queries.exceptions, filters)


def saved_views(url: str, owner: str) -> dict[str, dict[str, str]]:
    """`owner`'s saved worklist views (not cached: a view saved shows on the next run)."""
    from recon.app.worklist import saved_views as views_of

    return _read(url, views_of, owner)


def signoff_view(url: str, day: date, store: str, days: list[date]) -> queries.SignoffView:
    """The sign-off panel's reads (not cached: an action shows on the next run)."""
    return _read(url, queries.signoff_view, day, store, days)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def map_settings(url: str) -> MapSettings:
    """The mappings' `[settings]`, typed (the worklist's due hours among them)."""
    from recon.warehouse.mappings import load_mappings

    return load_mappings(_engine(url)).options


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def totals(url: str, filters: Filters) -> queries.Totals:
    return _read(url, queries.totals, filters)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def changes(url: str, filters: Filters) -> queries.RunChanges:
    return _read(url, queries.changes_since_last_run, filters)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def freshness(url: str) -> pl.DataFrame:
    return _read(url, queries.freshness)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def store_options(url: str) -> list[str]:
    return _read(url, queries.store_options)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def store_names(url: str) -> dict[str, str]:
    return _read(url, queries.store_names)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def detail(url: str, exception_id: str) -> queries.ExceptionDetail | None:
    return _read(url, queries.exception_detail, exception_id)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def chain(url: str, ident: str) -> Chain | str:
    """The chain of the POS order or ERP document `ident`, or (text) why there is none."""
    from recon.warehouse.chain import NotFound, find_chain

    try:
        return _read(url, find_chain, ident)
    except NotFound as exc:
        return str(exc)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def runs(url: str) -> pl.DataFrame:
    return _read(url, queries.runs)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def sync_post_summary(url: str) -> pl.DataFrame:
    return _read(url, queries.sync_post_summary)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def sync_posts(url: str) -> pl.DataFrame:
    return _read(url, queries.sync_posts)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def mapping_health(url: str) -> pl.DataFrame:
    return _read(url, queries.mapping_health)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def mapping_changes(url: str) -> pl.DataFrame:
    return _read(url, queries.mapping_changes)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def account_changes(url: str) -> pl.DataFrame:
    return _read(url, queries.account_changes)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def ageing(url: str, filters: Filters) -> pl.DataFrame:
    return _read(url, queries.ageing, filters)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def heatmap_cells(url: str, filters: Filters) -> pl.DataFrame:
    return _read(url, queries.heatmap_cells, filters)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def latest_day(url: str) -> date | None:
    return _read(url, queries.latest_day)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def takings(url: str, filters: Filters) -> pl.DataFrame:
    return _read(url, queries.takings, filters)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def takings_by_store_day(url: str, filters: Filters) -> pl.DataFrame:
    return _read(url, queries.takings_by_store_day, filters)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def variance_waterfall(url: str, filters: Filters) -> pl.DataFrame:
    return _read(url, queries.variance_waterfall, filters)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def revenue(url: str, filters: Filters) -> pl.DataFrame:
    return _read(url, queries.revenue_by_store_day, filters)


def today() -> date:
    """Today in the default store time zone (RECON_TIMEZONE): days before it are closed."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    settings = _settings_or_none()
    return datetime.now(ZoneInfo(settings.recon_timezone if settings else "Europe/London")).date()


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def latest_closed_day(url: str, today: date) -> date | None:
    return _read(url, queries.latest_closed_day, today)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def vat_totals(url: str, filters: Filters) -> pl.DataFrame:
    return _read(url, queries.vat_totals, filters)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def stock_variances(url: str, filters: Filters) -> pl.DataFrame:
    return _read(url, queries.stock_variances, filters)


def run_action(action: Callable[[], None], done: str) -> bool:
    """Run a workflow action; show a refusal, a configuration problem or a vendor's answer as
    one error line (never a traceback), else clear caches and say `done` (when not empty)."""
    from recon.app.workflow import WorkflowError
    from recon.clients import VendorError
    from recon.config import ConfigError

    try:
        action()
    except (WorkflowError, ConfigError, VendorError) as exc:
        st.error(literal(exc))
        return False
    st.cache_data.clear()
    if done:  # an action that shows its own outcome passes ""
        st.toast(literal(done))
    return True


# --- query parameters ------------------------------------------------------------------


def url_params() -> dict[str, list[str]]:
    return {key: st.query_params.get_all(key) for key in st.query_params}


def url_value(key: str) -> str | None:
    value = st.query_params.get(key)
    return value or None


def set_url(values: dict[str, str | None]) -> None:
    """Set (or, for None, remove) query parameters, touching only those that change."""
    for key, value in values.items():
        if value is None:
            if key in st.query_params:
                del st.query_params[key]
        elif st.query_params.get(key) != value:
            st.query_params[key] = value


# --- filters in the sidebar, mirrored in the URL --------------------------------------

_W = {
    "from": "f_from",
    "to": "f_to",
    "store": "f_stores",
    "kind": "f_kinds",
    "owner": "f_owner",
    "status": "f_status",
}
_LAST = "_filters"


def _seed(filters: Filters) -> None:
    state = st.session_state
    state[_W["from"]] = filters.date_from
    state[_W["to"]] = filters.date_to
    state[_W["store"]] = list(filters.stores)
    state[_W["kind"]] = list(filters.kinds)
    state[_W["owner"]] = filters.owner or ANY_OWNER
    state[_W["status"]] = filters.status
    state[_LAST] = filters


def _default() -> Filters:
    """What a user sees first: their role's exceptions (finance, ops; admin everything)."""
    user = current_user()
    return Filters(owner=auth.default_owner(user.role) if user else None)


def _reset() -> None:
    _seed(_default())
    set_url(dict.fromkeys(FILTER_KEYS))  # else the URL's filters would win on the rerun


def _from_widgets() -> Filters:
    state = st.session_state
    date_from: date | None = state[_W["from"]]
    date_to: date | None = state[_W["to"]]
    if date_from is not None and date_to is not None and date_from > date_to:
        date_from, date_to = date_to, date_from
    owner = state[_W["owner"]]
    return Filters(
        date_from=date_from,
        date_to=date_to,
        stores=tuple(state[_W["store"]]),
        kinds=tuple(state[_W["kind"]]),
        owner=None if owner == ANY_OWNER else owner,
        status=state[_W["status"]],
    )


_PAGE = "_page"  # the url path of the page the last run showed


def on_page(url_path: str) -> None:
    """Called by main.py before a page runs. On a page change, Streamlit forgets the filter
    widgets' values and the URL loses its query: the filters as last set (the role's
    default owner among them) are written to the new page's URL and the widgets seeded
    again from it, so the view survives the change and its URL is shareable."""
    if st.session_state.get(_PAGE) == url_path:
        return
    st.session_state[_PAGE] = url_path
    for key in _W.values():
        st.session_state.pop(key, None)
    last: Filters | None = st.session_state.get(_LAST)
    if last is not None and not any(key in st.query_params for key in FILTER_KEYS):
        wanted: dict[str, str | None] = {**last.to_query_params()}
        set_url(wanted)


def sidebar_filters(stores: list[str]) -> Filters:
    """The filters: from the URL when it names any, else as last set in this session.

    Widgets are seeded from that, and whatever the user picks is written back to the
    URL, so the page as seen is the page as linked.
    """
    params = url_params()
    problems: list[str] = []
    if not any(key in params for key in FILTER_KEYS):
        target: Filters = st.session_state.get(_LAST) or _default()
    else:
        target = Filters.from_query_params(params, problems)
    if st.session_state.get(_LAST) != target or any(w not in st.session_state for w in _W.values()):
        _seed(target)
    with st.sidebar:
        st.header("Filters")
        for problem in problems:  # they quote the URL, which anyone can write
            st.warning(literal(problem))
        st.date_input("From business day", key=_W["from"], format="YYYY-MM-DD")
        st.date_input("To business day", key=_W["to"], format="YYYY-MM-DD")
        store_choices = sorted(set(stores) | set(st.session_state[_W["store"]]))
        names = names_of_stores()
        st.multiselect(
            "Stores",
            store_choices,
            key=_W["store"],
            placeholder="all stores",
            format_func=lambda s: store_label(s, names),
        )
        st.multiselect("Kinds", KINDS, key=_W["kind"], placeholder="all kinds")
        st.selectbox("Owner", (ANY_OWNER, *OWNERS), key=_W["owner"])
        st.selectbox("Status", STATUS_CHOICES, key=_W["status"], help="open = new or persisting")
        st.button("Reset filters", key="reset_filters", on_click=_reset)
    chosen = _from_widgets()
    st.session_state[_LAST] = chosen
    wanted = chosen.to_query_params()
    set_url({key: wanted.get(key) for key in FILTER_KEYS})
    return chosen


# --- display helpers -----------------------------------------------------------------


def show_frame(frame: pl.DataFrame, **kwargs: Any) -> Any:
    """st.dataframe for a Polars frame; Decimal columns go as Arrow decimals, never floats,
    money (Decimal with two places) shows its two decimals (the grid would drop trailing
    zeros: -122.2), and days show as days (YYYY-MM-DD), not as midnight."""
    days = {
        name: st.column_config.DateColumn(format="YYYY-MM-DD")
        for name, dtype in frame.schema.items()
        if dtype == pl.Date
    }
    money = {
        name: st.column_config.NumberColumn(format="%.2f")
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Decimal) and dtype.scale == 2
    }
    config = {**days, **money, **kwargs.pop("column_config", {})}
    return st.dataframe(frame, hide_index=True, column_config=config or None, **kwargs)


def downloads(frame: pl.DataFrame, name: str, *, exceptions: bool = False) -> None:
    """CSV and Excel buttons for a table as shown; the files are built only when clicked.

    `exceptions=True` writes the CONTRACT's exceptions CSV (money with two decimals).
    """
    from recon.app.export import exceptions_csv, frame_csv, frame_xlsx

    left, right, _ = st.columns([1, 1, 6])
    left.download_button(
        "CSV",
        (lambda: exceptions_csv(frame)) if exceptions else (lambda: frame_csv(frame)),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"csv_{name}",
        icon=":material/download:",
        on_click="ignore",
    )
    right.download_button(
        "Excel",
        lambda: frame_xlsx(frame, name),
        file_name=f"{name}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"xlsx_{name}",
        icon=":material/download:",
        on_click="ignore",
    )


def table(frame: pl.DataFrame, name: str) -> None:
    """A table and its CSV / Excel buttons, `name` keying the table and naming the files."""
    show_frame(frame, key=name)
    downloads(frame, name)


def window(url: str, filters: Filters, days: int = 31) -> Filters:
    """The filters, or (when they name no days) the latest `days` business days with orders.

    Keeps first paint fast on a warehouse with years of store-days; the page says so.
    """
    windowed = _window(url, filters, days)
    if windowed is not filters and windowed.date_to is not None:
        st.caption(
            f"Showing the {days} business days up to {windowed.date_to:%Y-%m-%d}; set From / "
            "To in the sidebar for others."
        )
    return windowed


def _window(url: str, filters: Filters, days: int) -> Filters:
    if filters.date_from is not None or filters.date_to is not None:
        return filters
    last = latest_day(url)
    if last is None:
        return filters
    return replace(filters, date_from=last - timedelta(days=days - 1), date_to=last)


READABLE_COLUMNS = (
    "id",
    "kind",
    "cause_text",
    "store",
    "business_day",
    "pos_ref",
    "erp_ref",
    "sku",
    "tender",
    "account",
    "pos_value",
    "erp_value",
    "difference",
    "currency",
    "severity",
    "owner",
    "assignee",
    "status",
    "first_seen",
    "last_seen",
)


def names_of_stores() -> dict[str, str]:
    """Sitoo's store names ({} when the warehouse cannot be read: ids are shown then)."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return store_names(load_settings().warehouse_url)
    except (ConfigError, SQLAlchemyError, OSError):
        return {}


def with_store_names(
    frame: pl.DataFrame, names: Mapping[str, str] | None = None, *, money: bool = True
) -> pl.DataFrame:
    """`store` as people read it: `Name (id)` where Sitoo named it; a null store is
    `Unattributed` in a frame of money (ERP money no store can be given), else stays blank
    (an exception about no store, an unknown SKU say)."""
    if "store" not in frame.columns:
        return frame
    known = dict(names_of_stores() if names is None else names)
    return frame.with_columns(
        pl.col("store").map_elements(
            lambda s: store_label(s, known), return_dtype=pl.String, skip_nulls=not money
        )
    )


def readable(frame: pl.DataFrame) -> pl.DataFrame:
    """An exceptions frame for people: the cause in words next to the kind, store names,
    money with two decimals and its currency (quantities as they are)."""
    texts = {code: cause_text(code) for code in frame.get_column("cause").unique().to_list()}
    shown = frame.with_columns(
        pl.col("cause")
        .replace_strict(texts, default="", return_dtype=pl.String)
        .alias("cause_text"),
        *(value_text(c) for c in ("pos_value", "erp_value", "difference")),
    )
    return with_store_names(shown, money=False).select(READABLE_COLUMNS)


# Absolute: Streamlit resolves a relative page path from its entry script (src/recon/app/entry/).
EXCEPTIONS_PAGE = str(Path(__file__).parent / "pages" / "exceptions.py")
FIND_PAGE = str(Path(__file__).parent / "pages" / "chain.py")  # Find an order (?id=)


def exception_list(frame: pl.DataFrame, key: str, filters: Filters) -> None:
    """A readable exceptions table; choosing a row opens it on the Exceptions page."""
    event = show_frame(readable(frame), key=key, on_select="rerun", selection_mode="single-row")
    downloads(frame, key, exceptions=True)
    rows = event.selection.rows if event is not None else []
    if rows:
        chosen = frame.get_column("id")[rows[0]]
        st.switch_page(EXCEPTIONS_PAGE, query_params={**filters.to_query_params(), "id": chosen})


# --- tolerances and what-if (recon.app.whatif) ----------------------------------------

WHATIF_PARAM = "whatif"  # the tolerances typed into the what-if panel, kept in the URL


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def tolerances_text(url: str) -> str:
    with engine(url).connect() as conn:
        return whatif.in_effect(whatif.tolerances_in_effect(conn))


def tolerances_caption(url: str) -> None:
    """The tolerances the engine applies, as a caption (they are settings: mappings TOML)."""
    st.caption(
        f"Tolerances in effect: {literal(tolerances_text(url))} "
        "(the mappings' [settings]; see the what-if on the Exceptions page)"
    )


@st.cache_resource(ttl=15 * TTL_SECONDS, max_entries=2, show_spinner=False)
def _prepared_whatif(url: str, marker: int) -> WhatIf:
    """The warehouse exported and prepared once per data change (`marker`: the latest run)."""
    from recon.jobs import whatif_job

    return whatif_job(_settings())


def whatif_panel(url: str) -> None:
    """Tolerances typed in (kept in the URL), and the findings each would leave by kind,
    next to the counts as configured. Read-only: any signed-in role may use it. Shown
    when its toggle is on (the URL then carries the tolerances); nothing is read before."""
    text = url_value(WHATIF_PARAM)
    title = "What-if: findings per money tolerance"
    if not st.toggle(title, value=text is not None, key="whatif_on"):
        set_url({WHATIF_PARAM: None})
        return
    st.caption(
        "How many findings each money tolerance would leave: document totals "
        "(amount_tolerance) and takings per tender account (tender_tolerance) compared "
        "again at each; VAT rounding and stock stay as configured. Nothing is changed."
    )
    typed: str = st.text_input(
        "Tolerances (0.05 in the currency, 1% of the POS value; commas between)",
        value=text or whatif.DEFAULT_TOLERANCES,
        key="whatif_tolerances",
    )
    set_url({WHATIF_PARAM: typed.strip()})
    try:
        wanted = whatif.parse_tolerances(typed)
    except ValueError as exc:
        st.error(literal(exc))
        return
    with engine(url).connect() as conn:
        marker, data = whatif.snapshot_marker(conn), whatif.has_data(conn)
    if not data:
        st.info("No POS orders or ERP documents yet: collect first, then compare tolerances.")
        return
    try:
        with st.spinner("Preparing the latest snapshot"):
            prepared = _prepared_whatif(url, marker)
    except (ConfigError, SnapshotError) as exc:
        st.error(literal(exc))
        return
    rows, now = [prepared.counts(tolerance, word) for word, tolerance in wanted], prepared.counts()
    cells = st.columns(len(rows) + 1)
    cells[0].metric("Findings now", now.total)
    for cell, row in zip(cells[1:], rows, strict=True):
        delta = row.total - now.total
        cell.metric(f"At {literal(row.tolerance)}", row.total, delta=delta, delta_color="off")
    table = whatif.counts_table(rows, now)
    show_frame(table, key="whatif_table")
    st.bar_chart(table.drop("total", "vs now"), x="tolerance", stack=True, horizontal=True)
    downloads(table, "whatif")
