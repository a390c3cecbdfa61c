"""Sign-in page: the only page a session sees before it signs in.

With `[auth]` in `.streamlit/secrets.toml` it hands over to the OIDC provider
(`st.login`); otherwise it checks a local account (`recon.app.auth`, scrypt-hashed passwords).
"""

from __future__ import annotations

import streamlit as st

from recon.app import auth, ui

st.title("recon")
if ui.oidc_configured():
    if st.user.is_logged_in:  # signed in at the provider, but no role here
        identity = auth.oidc_identity(ui.oidc_claims())
        if identity is None:
            st.error("The provider gave neither a verified e-mail nor a subject (sub) claim.")
        else:
            st.error(  # the identity is the provider's text: shown as text
                ui.literal(
                    f"{identity} has no recon role: ask an admin to run recon users add "
                    f"{identity.removeprefix(auth.OIDC_PREFIX)} --role finance|ops|admin --oidc"
                )
            )
        st.button("Sign out", key="oidc_logout", on_click=st.logout)
    else:
        st.button("Sign in", key="oidc_login", on_click=st.login, type="primary")
    st.stop()

path = ui.users_file()
try:
    no_accounts = not auth.load_users(path)
except auth.AuthError as exc:  # a broken users file: say which, sign nobody in
    st.error(ui.literal(str(exc)))
    st.stop()
if no_accounts:
    st.warning(ui.literal(f"No accounts yet in {path}: run recon users add NAME --role admin"))


def _sign_in() -> None:
    """The form's callback: it runs before the next run draws anything, so that run already
    shows the page the address names (and sets the cookie): no run in between that could
    show the sign-in form again."""
    try:
        user = auth.authenticate(
            path,
            st.session_state["login_name"],
            st.session_state["login_password"],
            client=ui.client_address(),
        )
    except auth.AuthError as exc:  # too many failures just now: not even checked
        st.session_state[_FAILED] = ui.literal(str(exc))
        return
    if user is None:
        st.session_state[_FAILED] = "Unknown user name or wrong password."
    else:
        ui.sign_in(user)


_FAILED = "_sign_in_failed"
with st.form("login_form"):
    st.text_input("User name", key="login_name")
    st.text_input("Password", type="password", key="login_password")
    st.form_submit_button("Sign in", key="login_btn", type="primary", on_click=_sign_in)
if _FAILED in st.session_state:
    st.error(st.session_state.pop(_FAILED))  # Markdown made from text by ui.literal
ui.warm_up()  # while they type: the server reads the first page, the browser loads its parts
