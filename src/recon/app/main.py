"""The dashboard's entry: `streamlit run src/recon/app/main.py` (or `recon serve`).

Only sets the page up, asks who is signed in, and routes to the pages in `src/recon/app/pages/`
that the user's role may see; no queries here. Without a signed-in user the only page
is the login.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from recon.app import ui

HERE = Path(__file__).parent

# Which roles see which page (every signed-in role sees the rest).
PAGE_ROLES: dict[str, tuple[str, ...]] = {
    "takings": ("finance", "admin"),
    "stock": ("ops", "admin"),
    "admin": ("admin",),
}


PAGES: tuple[tuple[str, str, str], ...] = (  # file, title, url path
    ("overview", "Overview", "overview"),
    ("exceptions", "Exceptions", "exceptions"),
    ("chain", "Find an order", "find"),
    ("takings", "Takings & VAT", "takings"),
    ("stock", "Stock & items", "stock"),
    ("sync_health", "Sync health", "sync"),
    ("admin", "Admin", "admin"),
)


def _not_for(role: str, title: str, path: str, roles: tuple[str, ...]) -> st.Page:
    """A page this role may not open: hidden from the menu, and a link to it (shared by
    someone of another role) says so instead of Streamlit's "Page not found"."""

    def refused() -> None:
        st.title(title)
        st.error(
            f"{title} is for {' and '.join(roles)}; you are signed in as {role}. "
            "Ask an admin if you need it."
        )

    return st.Page(refused, title=title, url_path=path, visibility="hidden")


def main() -> None:
    st.set_page_config(page_title="recon", layout="wide")
    user = ui.current_user()
    ui.sync_cookie()
    if user is None:
        # Every page's address answers with the sign-in form, its query kept: a shared link
        # opened signed out is the sign-in form at once, then (same address) the page.
        login = HERE / "pages/login.py"
        signin = st.Page(login, title="Sign in", url_path="signin", default=True)
        named = [st.Page(login, title=title, url_path=path) for _, title, path in PAGES[1:]]
        with ui.reading():
            st.navigation([signin, *named], position="hidden").run()
        return
    pages = [
        st.Page(HERE / f"pages/{name}.py", title=title, url_path=path, default=name == "overview")
        if user.role in PAGE_ROLES.get(name, (user.role,))
        else _not_for(user.role, title, path, PAGE_ROLES[name])
        for name, title, path in PAGES
    ]
    page = st.navigation(pages)
    ui.on_page(page.url_path)
    st.sidebar.caption(f"Signed in as **{ui.literal(user.name)}** ({user.role})")
    left, right = st.sidebar.columns(2)
    left.button(
        "Refresh data",
        key="refresh",
        on_click=st.cache_data.clear,
        help=f"Queries are cached for {ui.TTL_SECONDS} s; this reads the warehouse again.",
    )
    right.button("Sign out", key="sign_out", on_click=ui.sign_out)
    with ui.reading():  # the page reads one state of the warehouse
        page.run()


main()
