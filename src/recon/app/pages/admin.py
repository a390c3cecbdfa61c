"""Admin page: accounts and their roles (add, replace, remove) with the audit of account
changes, the integration's mappings (view and edit) and the audit of mapping changes.

Only admins reach it (main.py routes by role; the check below repeats it). Writes go
through `recon.app.auth` (accounts) and `recon.app.workflow` (mappings); passwords are never shown.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import streamlit as st

from recon.app import auth, ui, workflow
from recon.warehouse.mappings import load_mappings

admin = ui.require_role("admin")  # main.py routes by role too; the role is read each run
url = ui.warehouse_url()
engine = ui.engine(url)

st.title("Admin")
path = ui.users_file()
st.subheader("Accounts")
st.caption(
    f"Kept in `{path}` (RECON_USERS); `recon users add|remove` does the same. A password or "
    f"role change, or a removal, ends that person's open sessions. Names: letters, digits, "
    f"`. _ - @`; passwords: at least {auth.MIN_PASSWORD} characters; an OIDC person (no "
    "password) by their verified e-mail or `sub`."
)
accounts = pl.DataFrame(
    [(n, a.role, a.password is not None) for n, a in sorted(auth.load_users(path).items())],
    schema={"name": pl.String(), "role": pl.String(), "local_password": pl.Boolean()},
    orient="row",
)
ui.show_frame(accounts, key="accounts")


def _account_change(change: Callable[[], object], done: str) -> None:
    try:
        change()
    except auth.AuthError as exc:
        st.error(ui.literal(str(exc)))
    except OSError as exc:  # the users file could not be written: nothing changed
        st.error(ui.literal(f"could not save {path}: {exc.strerror}"))
    else:
        st.cache_data.clear()
        st.toast(ui.literal(done))
        st.rerun()


with st.form("add_user_form", clear_on_submit=True):
    cols = st.columns(3)
    name = cols[0].text_input("Name", key="new_user")
    role = cols[1].selectbox("Role", auth.ROLES, key="new_role")
    password = cols[2].text_input("Password (empty: OIDC only)", type="password", key="new_pw")
    if st.form_submit_button("Add or replace account", key="add_user_btn"):
        _account_change(
            lambda: auth.add_user(
                path,
                name,
                role,
                password or None,
                engine=engine,
                actor=admin.name,
                source=workflow.DASHBOARD,
            ),
            f"account {name.strip()} saved",
        )
with st.form("remove_user_form", clear_on_submit=True):
    gone = st.selectbox("Account", sorted(auth.load_users(path)), key="rm_user", index=None)
    if st.form_submit_button("Remove account", key="rm_user_btn") and gone is not None:
        who = gone
        _account_change(
            lambda: auth.remove_user(
                path, who, engine=engine, actor=admin.name, source=workflow.DASHBOARD
            ),
            f"account {who} removed",
        )

st.subheader("Account changes")
st.caption("Every edit here and every `recon users add|remove`: who, when, what.")
account_changes = ui.account_changes(url)
if account_changes.is_empty():
    st.write("No account has changed yet.")
else:
    ui.table(account_changes, "account_changes")

st.subheader("Mappings")
mappings = load_mappings(engine)
stores, tenders, taxes = st.columns(3)
with stores:
    st.markdown("**Stores -> ERP location**")
    ui.show_frame(
        pl.DataFrame(
            [(s.store_id, s.location, s.timezone) for s in mappings.stores.values()],
            schema={"store": pl.String(), "location": pl.String(), "timezone": pl.String()},
            orient="row",
        ),
        key="map_stores",
    )
    with st.form("map_store_form", clear_on_submit=True):
        store = st.text_input("Store id", key="ms_store")
        location = st.text_input("ERP location", key="ms_location")
        if st.form_submit_button("Map store", key="ms_btn") and ui.run_action(
            lambda: workflow.map_store(engine, store, location, admin), f"store {store} mapped"
        ):
            st.rerun()
with tenders:
    st.markdown("**Tenders -> ERP account**")
    ui.show_frame(
        pl.DataFrame(
            list(mappings.tenders.items()),
            schema={"tender": pl.String(), "account": pl.String()},
            orient="row",
        ),
        key="map_tenders",
    )
    with st.form("map_tender_form", clear_on_submit=True):
        tender = st.text_input("POS tender", key="mt_tender")
        account = st.text_input("ERP account", key="mt_account")
        if st.form_submit_button("Map tender", key="mt_btn") and ui.run_action(
            lambda: workflow.map_tender(engine, tender, account, admin), f"tender {tender} mapped"
        ):
            st.rerun()
with taxes:
    st.markdown("**VAT rate -> ERP tax code**")
    ui.show_frame(
        pl.DataFrame(
            [(str(t.vat_rate), t.tax_code, t.account) for t in mappings.tax.values()],
            schema={"vat_rate": pl.String(), "tax_code": pl.String(), "account": pl.String()},
            orient="row",
        ),
        key="map_tax",
    )
    with st.form("map_tax_form", clear_on_submit=True):
        rate = st.text_input("POS VAT rate (e.g. 12.50)", key="mx_rate")
        code = st.text_input("ERP tax code", key="mx_code")
        tax_account = st.text_input("ERP tax account", key="mx_account")
        if st.form_submit_button("Map VAT rate", key="mx_btn") and ui.run_action(
            lambda: workflow.map_tax(engine, rate, code, tax_account, admin),
            f"VAT rate {rate} mapped",
        ):
            st.rerun()
st.caption("Mapping changes apply from the next sync and reconcile run.")

st.subheader("Mapping changes")
st.caption("Every edit here and every `recon mappings import`: who, when, before -> after.")
changes = ui.mapping_changes(url)
if changes.is_empty():
    st.write("No mapping has changed yet.")
else:
    ui.table(changes, "mapping_changes")
