"""The worklist: the exceptions as people work them, and each user's saved views of it.

`worklist` adds to an exceptions frame (`queries.exceptions`) what a worklist shows beside
the findings, money at stake (`queries.money_at_stake`, the one definition), age since
first seen and due-by (first seen + the kind's `due_hours` from the mappings' `[settings]`),
and narrows it to one assignee's queue and sorts it. `View` is the worklist's part of the
page's URL (my queue, sort, columns), next to the `Filters`. A saved view is such a query
string under a name, per user, in the warehouse (`saved_views`): listed, applied and
deleted by its owner only. No Streamlit here; the saved-view functions take the
`Connection` they read or write in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, delete, insert, select

from recon.app.filters import FILTER_KEYS, OPEN_STATUSES, Filters, Params
from recon.app.queries import money_at_stake
from recon.config.mappings import MapSettings
from recon.warehouse.db import text_problem
from recon.warehouse.models import SavedView

__all__ = [
    "EXTRA_COLUMNS",
    "MINE",
    "SORTS",
    "STYLED_ROWS",
    "VIEW_KEYS",
    "View",
    "ViewError",
    "delete_view",
    "overdue_styler",
    "save_view",
    "saved_views",
    "stored_view",
    "view_params",
    "worklist",
]

MINE = "mine"  # ?queue=mine: the open exceptions assigned to whoever opens the link
SORTS: dict[str, str] = {  # ?sort=KEY -> what the sort is called
    "day": "Newest business day",
    "money": "Money at stake, largest first",
    "age": "Age, oldest first",
    "due": "Due by, soonest first",
}
EXTRA_COLUMNS: tuple[str, ...] = ("money_at_stake", "age_days", "due_by", "overdue")
VIEW_KEYS: tuple[str, ...] = ("queue", "sort", "cols")
MAX_NAME = 80
OVERDUE_STYLE = "background-color: #fde0dc"
# Rows a worklist is shaded for (a Styler costs ~1 ms a row to draw); above it the overdue
# column alone marks them.
STYLED_ROWS = 500


class ViewError(ValueError):
    """A saved view that cannot be saved as asked (no name, too long); says why."""


# --- the worklist frame ----------------------------------------------------------------


def worklist(
    frame: pl.DataFrame,
    settings: MapSettings,
    now: datetime,
    *,
    sort: str = "day",
    assignee: str | None = None,
) -> pl.DataFrame:
    """`frame` with `money_at_stake`, `age_days` (since first seen, one decimal), `due_by`
    (first seen + its kind's due hours) and `overdue` (open and past due_by; a closed or
    resolved one is never overdue); only the open ones assigned to `assignee` when given;
    sorted by `sort` (a key of SORTS; "day" keeps the frame's order), ties by id."""
    due_ms = {kind: _ms(settings.due_after(kind)) for kind in frame["kind"].unique().to_list()}
    due_by = pl.col("first_seen") + pl.duration(
        milliseconds=pl.col("kind").replace_strict(due_ms, return_dtype=pl.Int64)
    )
    out = frame.with_columns(
        money_at_stake(),
        ((pl.lit(now) - pl.col("first_seen")).dt.total_minutes() / (24 * 60))
        .round(1)
        .alias("age_days"),
        due_by.alias("due_by"),
    ).with_columns(
        (pl.col("status").is_in(OPEN_STATUSES) & (pl.col("due_by") < pl.lit(now)))
        .fill_null(False)
        .alias("overdue")
    )
    if assignee is not None:
        out = out.filter(pl.col("status").is_in(OPEN_STATUSES), pl.col("assignee") == assignee)
    if sort == "money":
        return out.sort(["money_at_stake", "id"], descending=[True, False], nulls_last=True)
    if sort == "age":
        return out.sort(["first_seen", "id"])
    if sort == "due":
        return out.sort(["due_by", "id"])
    return out


def _ms(delta: Any) -> int:
    return int(delta.total_seconds() * 1000)


def overdue_styler(shown: pl.DataFrame, overdue: pl.Series) -> Any:
    """A pandas Styler for `st.dataframe` of a worklist as shown: every row that
    `overdue` marks (the worklist's column, row for row) on a pale red. For up to
    STYLED_ROWS rows; a longer worklist is shown as it is."""
    late = overdue.to_list()
    width = len(shown.columns)
    return shown.to_pandas().style.apply(
        lambda row: [OVERDUE_STYLE if late[row.name] else ""] * width, axis=1
    )


# --- the worklist's part of the URL ----------------------------------------------------


@dataclass(frozen=True)
class View:
    """How the worklist is looked at, beside the filters: my queue, sort and the columns
    shown (empty: all). Written to the URL as `queue`, `sort`, `cols`, defaults left out."""

    mine: bool = False
    sort: str = "day"
    columns: tuple[str, ...] = ()

    def to_query_params(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.mine:
            out["queue"] = MINE
        if self.sort != "day":
            out["sort"] = self.sort
        if self.columns:
            out["cols"] = ",".join(self.columns)
        return out

    @classmethod
    def from_query_params(
        cls, params: Params, columns: Sequence[str], problems: list[str] | None = None
    ) -> View:
        """The view a query string names; what it cannot read is dropped and named in
        `problems`. `columns` are those the worklist can show."""
        notes: list[str] = [] if problems is None else problems

        def last(key: str) -> str | None:
            raw = params.get(key)
            values = [raw] if isinstance(raw, str) else list(raw or [])
            return values[-1].strip() if values else None

        queue = last("queue")
        if queue not in (None, "", MINE):
            notes.append(f"queue={queue!r} is not {MINE!r}; ignored")
        sort = last("sort") or "day"
        if sort not in SORTS:
            notes.append(f"sort={sort!r} is not one of {', '.join(SORTS)}; ignored")
            sort = "day"
        shown: list[str] = []
        for name in (last("cols") or "").split(","):
            if not name.strip():
                continue
            if name.strip() in columns:
                shown.append(name.strip())
            else:
                notes.append(f"cols: {name.strip()!r} is not a worklist column; ignored")
        return cls(mine=queue == MINE, sort=sort, columns=tuple(dict.fromkeys(shown)))


def view_params(filters: Filters, view: View) -> dict[str, str]:
    """The query string of a worklist as seen: its filters (the status always written, so
    applying it sets every filter, not only those off their defaults) and its view."""
    return {"status": filters.status, **filters.to_query_params(), **view.to_query_params()}


# --- saved views, per user -------------------------------------------------------------


def _name(name: str) -> str:
    text = name.strip()
    if not text:
        raise ViewError("give the view a name")
    if len(text) > MAX_NAME:
        raise ViewError(f"a view's name has at most {MAX_NAME} characters")
    if (problem := text_problem(text)) is not None:  # PostgreSQL refused a NUL
        raise ViewError(f"a view's name holds {problem}")
    return text


def save_view(conn: Connection, owner: str, name: str, params: Mapping[str, str]) -> str:
    """Save `params` (a worklist query string) as `owner`'s view `name`, replacing their
    view of that name in any case ("Mine" replaces "mine"; never anyone else's). Returns
    the name as saved."""
    title = _name(name)
    v = SavedView
    names = conn.execute(select(v.name).where(v.owner == owner)).scalars()
    same = [n for n in names if n.casefold() == title.casefold()]
    conn.execute(delete(v).where(v.owner == owner, v.name.in_(same)))
    conn.execute(
        insert(v).values(
            owner=owner,
            name=title,
            params=json.dumps(dict(sorted(params.items()))),
            saved_at=datetime.now(UTC),
        )
    )
    return title


def saved_views(conn: Connection, owner: str) -> dict[str, dict[str, str]]:
    """`owner`'s saved views, name -> query string, by name; nobody else's. A stored text
    that is not a JSON object reads as {UNREADABLE: its start} (`stored_view` says so)."""
    v = SavedView
    rows = conn.execute(select(v.name, v.params).where(v.owner == owner).order_by(v.name))
    return {str(name): _query_string(params) for name, params in rows}


UNREADABLE = "unreadable"  # the key of a saved view whose stored text does not read


def _query_string(text: str) -> dict[str, str]:
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        return {UNREADABLE: text[:40]}
    return {str(k): str(x) for k, x in value.items()}


def stored_view(
    params: Mapping[str, str], columns: Sequence[str]
) -> tuple[dict[str, str], list[str]]:
    """A saved view's query string as it applies today, and what of it no longer does (a
    kind since removed, a bad date, a column gone, a key nothing reads, an unreadable
    stored text): what still reads is applied, the rest is named."""
    if UNREADABLE in params:
        return {}, ["its stored settings cannot be read; delete it and save it again"]
    problems = [f"{k}={x!r} is no worklist setting; ignored" for k, x in params.items()
                if k not in (*FILTER_KEYS, *VIEW_KEYS)]  # fmt: skip
    filters = Filters.from_query_params(params, problems)
    view = View.from_query_params(params, columns, problems)
    return view_params(filters, view), problems


def delete_view(conn: Connection, owner: str, name: str) -> bool:
    """Delete `owner`'s view `name`; False when they have none of that name (another
    user's view of the same name is untouched)."""
    v = SavedView
    gone = conn.execute(delete(v).where(v.owner == owner, v.name == name.strip()))
    return bool(gone.rowcount)
