"""What `streamlit run` starts (`recon serve`, `recon demo`, the bench and browser tests):
`src/recon/app/main.py`, run afresh on every rerun.

From this directory, which has no `pages/` beside it: Streamlit shows a `pages/` folder next
to its entry script as pages of their own (its first multipage design) until the app's
`st.navigation` has run, so on a freshly started server a shared link to a page got a blank
page and a list of file names instead of the sign-in form.
"""

from __future__ import annotations

import runpy
from pathlib import Path

runpy.run_path(str(Path(__file__).parents[1] / "main.py"), run_name="__main__")
