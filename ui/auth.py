"""Who is looking, and in which role (viewer, analyst, admin).

Permissions (SPEC §7): viewer sees dashboards without comment text; analyst adds
comments and exports; admin adds imports.

Where the identity comes from, first match wins:

1. **OIDC** (`st.login` / `st.user`) when `.streamlit/secrets.toml` has an `[auth]`
   section. Until the person signs in, the app shows only a sign-in button.
2. **An authenticating reverse proxy** when env `CED_TRUSTED_USER_HEADER` names the
   header the proxy sets (e.g. `X-Forwarded-User`). Optional: `CED_TRUSTED_ROLE_HEADER`
   (a role name chosen by the proxy), `CED_TRUSTED_GROUPS_HEADER` (comma-separated
   groups, mapped below), and `CED_PROXY_SECRET` (the proxy must also send it in
   `X-CED-Proxy-Secret`). A request without exactly one user header is refused.
3. **Local demo**: neither configured, everyone is admin and the sidebar says so.

Roles are mapped from configuration (secrets.toml):

    [roles]
    default = "viewer"               # anyone signed in but not listed
    groups_claim = "groups"          # OIDC claim holding group names
    [roles.users]
    "major.jones@example.gov" = "admin"
    [roles.groups]
    "ced-analysts" = "analyst"

A user entry wins over groups; among groups the highest role wins; a role name sent
by the proxy in the role header wins over both. Anything unknown gives the default.
The headers are read from the websocket handshake (`st.context.headers`), so they are
trusted only because the proxy overwrites them; see docs/deployment.md.
"""

from __future__ import annotations

import hmac
import logging
import os
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from data_access import audit
from data_access.filters import ROLES
from ui.cache import once_per_run

PERMISSIONS = {
    "view_comments": "analyst",
    "export": "analyst",
    "import": "admin",
}

# Pages whose visits are audited: title -> (permission it concerns, whether the page refuses the whole
# view without it). A page that calls require(action) must be listed here with that action.
SENSITIVE_PAGES: dict[str, tuple[str, bool]] = {
    "Data": ("import", True),
    "Feedback": ("view_comments", False),
}

USER_HEADER_ENV = "CED_TRUSTED_USER_HEADER"
ROLE_HEADER_ENV = "CED_TRUSTED_ROLE_HEADER"
GROUPS_HEADER_ENV = "CED_TRUSTED_GROUPS_HEADER"
PROXY_SECRET_ENV = "CED_PROXY_SECRET"
PROXY_SECRET_HEADER = "X-CED-Proxy-Secret"
LOCAL_DEMO = "local demo"

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class User:
    name: str
    role: str
    source: str  # "local demo" | "oidc" | "proxy header"


@dataclass(frozen=True)
class RoleMap:
    """Configured role per user and per group; `default` for everyone else signed in."""

    default: str = "viewer"
    users: Mapping[str, str] = field(default_factory=dict)
    groups: Mapping[str, str] = field(default_factory=dict)
    groups_claim: str = "groups"

    @classmethod
    def from_config(cls, conf: Mapping[str, Any] | None) -> RoleMap:
        """Parse the `[roles]` table; a role name that is not viewer/analyst/admin is a config error."""
        conf = conf or {}

        def role(value: object, where: str) -> str:
            text = str(value).strip().lower()
            if text not in ROLES:
                raise ValueError(f"[roles] {where}: {value!r} is not one of {', '.join(ROLES)}")
            return text

        return cls(
            default=role(conf.get("default", "viewer"), "default"),
            users={
                str(k).strip().lower(): role(v, f"users.{k}") for k, v in (conf.get("users") or {}).items()
            },
            groups={
                str(k).strip().lower(): role(v, f"groups.{k}") for k, v in (conf.get("groups") or {}).items()
            },
            groups_claim=str(conf.get("groups_claim", "groups")),
        )

    def role_for(self, identity: str, groups: Iterable[str] = ()) -> str:
        who = identity.strip().lower()
        if who in self.users:
            return self.users[who]
        matched = [self.groups[g] for g in (x.strip().lower() for x in groups) if g in self.groups]
        return max(matched, key=ROLES.index) if matched else self.default


def _clean(text: object, limit: int = 200) -> str:
    """Drop control and invisible format characters (RTL overrides, zero-width) from an identity."""
    s = "".join(ch for ch in str(text) if unicodedata.category(ch) not in ("Cc", "Cf"))
    return s.strip()[:limit]


def _split_groups(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [g for g in (x.strip() for x in value.split(",")) if g]
    if isinstance(value, Iterable):
        return [str(g) for g in value]
    return [str(value)]


def _single(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    """The header's value when it was sent exactly once; None when absent or repeated (ambiguous)."""
    values = [v for k, v in headers if k.lower() == name.lower()]
    return values[0] if len(values) == 1 else None


def oidc_configured(secrets: Mapping[str, Any]) -> bool:
    return isinstance(secrets.get("auth"), Mapping)


def proxy_configured(env: Mapping[str, str]) -> bool:
    return bool(env.get(USER_HEADER_ENV, "").strip())


def identify(
    *,
    headers: Iterable[tuple[str, str]],
    oidc_user: Mapping[str, Any],
    secrets: Mapping[str, Any],
    env: Mapping[str, str],
) -> User | None:
    """Who is asking, or None when a configured identity provider has not vouched for them.

    Pure (no Streamlit), so every branch is unit-tested.
    """
    roles = RoleMap.from_config(secrets.get("roles"))
    if oidc_configured(secrets):
        if not oidc_user.get("is_logged_in"):
            return None
        identity = _clean(
            oidc_user.get("email") or oidc_user.get("preferred_username") or oidc_user.get("sub") or ""
        )
        if not identity:
            return None
        role = roles.role_for(identity, _split_groups(oidc_user.get(roles.groups_claim)))
        return User(name=identity, role=role, source="oidc")
    if proxy_configured(env):
        headers = list(headers)
        secret = env.get(PROXY_SECRET_ENV, "")
        if secret:
            sent = _single(headers, PROXY_SECRET_HEADER) or ""
            if not hmac.compare_digest(sent.encode(), secret.encode()):
                return None
        identity = _clean(_single(headers, env[USER_HEADER_ENV].strip()) or "")
        if not identity or "," in identity:  # a comma: two values folded into one header, ambiguous
            return None
        role_header = env.get(ROLE_HEADER_ENV, "").strip()
        claimed = (_single(headers, role_header) or "").strip().lower() if role_header else ""
        if claimed in ROLES:
            role = claimed
        else:
            groups_header = env.get(GROUPS_HEADER_ENV, "").strip()
            groups = _split_groups(_single(headers, groups_header)) if groups_header else []
            role = roles.role_for(identity, groups)
        return User(name=identity, role=role, source="proxy header")
    return User(name="local user", role="admin", source=LOCAL_DEMO)


# ---------------------------------------------------------------- Streamlit glue


def _request_headers() -> list[tuple[str, str]]:
    """Headers of this session's websocket handshake (what the proxy sent)."""
    try:
        h = st.context.headers
        return [(k, v) for k in h for v in h.get_all(k)]
    except Exception:  # no session client (bare mode, some test harnesses): no headers
        return []


def _oidc_user() -> dict[str, Any]:
    try:
        return st.user.to_dict()
    except Exception:
        return {}


def _secrets() -> dict[str, Any]:
    try:
        return st.secrets.to_dict()
    except FileNotFoundError:  # no secrets.toml at all
        return {}


def _login_provider(secrets: Mapping[str, Any]) -> str | None:
    auth = secrets.get("auth") or {}
    if "client_id" in auth:
        return None
    named = [k for k, v in auth.items() if isinstance(v, Mapping)]
    return named[0] if named else None


def _login(provider: str | None) -> None:
    try:
        st.login(provider) if provider else st.login()
    except Exception:
        _log.exception("OIDC sign-in could not start")
        st.session_state["_ced_login_failed"] = True


def _refuse_unauthenticated(secrets: Mapping[str, Any]) -> None:
    """Nothing but a sign-in prompt for someone the identity provider has not vouched for."""
    if not st.session_state.get("_ced_refusal_logged"):
        st.session_state["_ced_refusal_logged"] = True
        write_audit(
            "sign_in", user="(not signed in)", role="none", detail="no trusted identity", outcome="denied"
        )
    st.title("Community Engagement")
    if oidc_configured(secrets):
        st.info("Sign in with your organisation account to see the dashboard.")
        st.button(
            "Sign in",
            type="primary",
            on_click=_login,
            args=(_login_provider(secrets),),
            icon=":material/login:",
        )
        if st.session_state.pop("_ced_login_failed", False):
            st.error(
                "Sign-in is not available: the server's sign-in settings are incomplete. Tell an administrator."
            )
    else:
        st.error("Not signed in. Open the dashboard through the division's sign-in page.")
    st.stop()


def write_audit(event: str, **fields: str) -> None:
    """Write an audit line; a broken log never breaks the page, but it is logged loudly."""
    try:
        audit.record(event, **fields)
    except OSError:
        _log.exception("could not write the audit log %s", audit.audit_path())


def _note_sign_in(user: User) -> None:
    """One sign_in line per browser session and identity."""
    key = f"{user.source}|{user.name}|{user.role}"
    if st.session_state.get("_ced_signed_in") == key:
        return
    st.session_state["_ced_signed_in"] = key
    write_audit("sign_in", user=user.name, role=user.role, detail=f"via {user.source}")


def current_user() -> User:
    """The signed-in user; stops the script with a sign-in prompt when there is none. Worked out
    once per script run (the headers, st.user and the secrets cannot change within one)."""
    return once_per_run("current_user", _identify_or_stop)


def _identify_or_stop() -> User:
    secrets = _secrets()
    user = identify(headers=_request_headers(), oidc_user=_oidc_user(), secrets=secrets, env=os.environ)
    if user is None:
        _refuse_unauthenticated(secrets)
        raise AssertionError("unreachable: st.stop() ends the run")
    _note_sign_in(user)
    return user


def allowed(action: str, user: User | None = None) -> bool:
    """True when the user's role is at least the role the action needs."""
    user = user or current_user()
    return ROLES.index(user.role) >= ROLES.index(PERMISSIONS[action])


def require(action: str) -> User:
    """Stop the page (nothing below runs) unless the user may do `action`; the refusal is audited.

    The refusal is recorded here rather than in app.py because a page can run without the frame:
    with a pages/ folder beside app.py, Streamlit serves a deep link such as /data to a fresh
    server process as a stand-alone page script until some session has run st.navigation
    (serve.py prevents that; `streamlit run app.py` and AppTest's switch_page do not).
    """
    user = current_user()
    if not allowed(action, user):
        _note_denied(action, user)
        st.error(f"Your role ({user.role}) may not open this page. Ask an administrator for access.")
        st.stop()
    return user


def _note_denied(action: str, user: User) -> None:
    """One page_view/denied line per visit (ui.audit.page_view counts visits), not per rerun."""
    key = f"{action}|{st.session_state.get('_ced_visit', 0)}"
    if st.session_state.get("_ced_denied") == key:
        return
    st.session_state["_ced_denied"] = key
    title = next((t for t, (a, whole) in SENSITIVE_PAGES.items() if a == action and whole), action)
    write_audit("page_view", user=user.name, role=user.role, detail=f"{title} page", outcome="denied")
