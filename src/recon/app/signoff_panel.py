"""The sign-off panel of the Takings page: for a business day and a store (or all stores),
its state, the prepare / sign / reject / withdraw buttons the signed-in role may use, the
evidence kept at preparation, the events (the reopen reason among them), the days not
signed yet, and the exports of sign-offs, evidence and events.

Reads on the render's one connection (`ui.signoff_view`, through `ui.reading`, like every
page's reads); acts through
`recon.app.signoff` (which checks the role again, server side). The chosen day and store
live in the URL (`so_day`, `so_store`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import polars as pl
import streamlit as st
from sqlalchemy import Engine

from recon.app import signoff, ui
from recon.app.auth import User
from recon.app.money import exception_value, money, store_label
from recon.warehouse.signoff import ALL_STORES, PREPARED, REOPENED, SIGNED

__all__ = ["DAY_PARAM", "STORE_PARAM", "panel"]

DAY_PARAM, STORE_PARAM = "so_day", "so_store"


def _parse_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _label(store: str, names: dict[str, str]) -> str:
    return "All stores" if store == ALL_STORES else store_label(store, names)


def _at(value: Any) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if value is not None else ""


def _shown_evidence(frame: pl.DataFrame, names: dict[str, str]) -> pl.DataFrame:
    """Evidence for people: money with two decimals and its currency, store names."""

    def value(column: str) -> pl.Expr:
        return (
            pl.struct("kind", column, "currency")
            .map_elements(
                lambda r: (
                    money(r[column], r["currency"])
                    if r["currency"] and r[column] is not None
                    else exception_value(r["kind"], r[column], r["currency"])
                ),
                return_dtype=pl.String,
            )
            .alias(column)
        )

    shown = frame.with_columns(value("pos_value"), value("erp_value"), value("difference"))
    return ui.with_store_names(shown.drop("signoff_id"), names)


def _act(action: Callable[[], object], done: str) -> None:
    def run() -> None:
        action()

    if ui.run_action(run, done):
        st.rerun()


def panel(
    url: str,
    user: User,
    days: list[date],
    stores_of: dict[date, list[str]],
    names: dict[str, str],
) -> None:
    """The panel over these business days (newest first) and the stores with takings on
    each, from the warehouse at `url`; the days not signed yet over at least a month up to
    the newest."""
    if not days:
        st.info("No takings for these stores and days: nothing to sign off yet.")
        return
    wanted = _parse_day(ui.url_value(DAY_PARAM))
    day: date = st.selectbox(
        "Business day",
        days,
        index=days.index(wanted) if wanted in days else 0,
        key="so_day",
        format_func=lambda d: f"{d:%Y-%m-%d}",
    )
    options = [ALL_STORES, *stores_of.get(day, [])]
    wanted_store = ui.url_value(STORE_PARAM)
    store: str = st.selectbox(
        "Store",
        options,
        index=options.index(wanted_store) if wanted_store in options else 0,
        key="so_store",
        format_func=lambda s: _label(s, names),  # options show text as it is
    )
    ui.set_url({DAY_PARAM: day.isoformat(), STORE_PARAM: store})

    view = ui.signoff_view(url, day, store, days)
    that_day, evidence, events, since = view.that_day, view.evidence, view.events, view.since
    mine = that_day.filter(pl.col("store") == store)

    row = mine.row(0, named=True) if mine.height else None
    state = row["state"] if row else None
    label = f"{_label(store, names)}, {day:%Y-%m-%d}"
    st.markdown(f"**Sign-off of {ui.literal(label)}**")
    whole = that_day.filter(pl.col("store") == ALL_STORES)
    if store != ALL_STORES and whole.height and whole["state"][0] == SIGNED:
        st.success(
            ui.literal(
                f"Covered by the all-stores sign-off of this day, signed by {whole['reviewer'][0]}."
            )
        )
    if row is None:
        st.info("Not prepared yet.")
    elif state == PREPARED:
        st.warning(
            ui.literal(
                f"Prepared by {row['preparer']} at {_at(row['prepared_at'])}; waiting for a "
                "reviewer (someone else)."
            )
        )
    elif state == SIGNED:
        st.success(
            ui.literal(
                f"Signed: prepared by {row['preparer']} at {_at(row['prepared_at'])}, reviewed "
                f"by {row['reviewer']} at {_at(row['reviewed_at'])}."
            )
        )
    else:
        st.error(ui.literal(f"Reopened: {row['reason']}"))

    _buttons(ui.engine(url), user, store, day, state, row)

    if row is not None:
        if row["comment"]:
            st.caption(f"Preparer's comment: {ui.literal(row['comment'])}")
        st.markdown("**Evidence kept at preparation** (open exceptions and takings by tender)")
        ui.show_frame(_shown_evidence(evidence, names), key="so_evidence")
        st.markdown("**Events**")
        ui.show_frame(events.drop("signoff_id", "detail"), key="so_events")

    st.markdown(f"**Days not signed yet** ({since:%Y-%m-%d} to {max(days):%Y-%m-%d})")
    if view.unsigned.is_empty():
        st.success("Every store-day of these days is signed.")
    else:
        shown = view.unsigned.with_columns(
            pl.col("store").map_elements(lambda s: _label(s, names), return_dtype=pl.String)
        )
        ui.show_frame(shown, key="so_unsigned")
    st.markdown("**Export** the sign-offs of these days, their evidence and their events")
    ui.downloads(view.in_scope, "signoffs")
    ui.downloads(view.every_evidence, "signoff_evidence")
    ui.downloads(view.every_event, "signoff_events")


def _buttons(
    engine: Engine, user: User, store: str, day: date, state: str | None, row: Any
) -> None:
    may_prepare = user.role in signoff.PREPARE_ROLES and state != SIGNED
    may_review = user.role in signoff.REVIEW_ROLES and state == PREPARED
    may_unsign = user.role in signoff.UNSIGN_ROLES and state == SIGNED
    if not (may_prepare or may_review or may_unsign):
        return
    note = st.text_input("Comment (a reason to reject or withdraw)", key="so_comment")
    cols = st.columns(4)
    if may_prepare:
        again = state in (PREPARED, REOPENED)
        if cols[0].button("Prepare again" if again else "Prepare", key="so_prepare"):
            _act(lambda: signoff.prepare(engine, store, day, user, note), "Prepared")
    if may_review:
        own = row is not None and row["preparer"] == user.name
        if cols[1].button(
            "Sign (review)",
            key="so_sign",
            disabled=own,
            help="You prepared it: someone else signs (four eyes)." if own else None,
        ):
            _act(lambda: signoff.review(engine, store, day, user, note), "Signed")
        if cols[2].button("Reject", key="so_reject"):
            _act(lambda: signoff.reject(engine, store, day, user, note), "Rejected")
    if may_unsign and cols[3].button("Withdraw sign-off", key="so_unsign"):
        _act(lambda: signoff.reject(engine, store, day, user, note), "Sign-off withdrawn")
