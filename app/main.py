"""The dashboard's entry: `streamlit run app/main.py` (or `recon serve`).

Only sets the page up and routes to the pages in `app/pages/`; no queries here.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app import ui

HERE = Path(__file__).parent


def main() -> None:
    st.set_page_config(page_title="recon", layout="wide")
    pages = [
        st.Page(HERE / "pages/overview.py", title="Overview", url_path="overview", default=True),
        st.Page(HERE / "pages/exceptions.py", title="Exceptions", url_path="exceptions"),
        st.Page(HERE / "pages/sync_health.py", title="Sync health", url_path="sync"),
    ]
    page = st.navigation(pages)
    st.sidebar.button(
        "Refresh data",
        key="refresh",
        on_click=st.cache_data.clear,
        help=f"Queries are cached for {ui.TTL_SECONDS} s; this reads the warehouse again.",
    )
    page.run()


main()
