"""Who is looking, and in which role (viewer, analyst, admin).

With no identity provider configured (local demo) everyone is admin, and the
sidebar says so.

Permissions (SPEC §7): viewer sees dashboards without comment text; analyst adds
comments and exports; admin adds imports.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from data_access.filters import ROLES

PERMISSIONS = {
    "view_comments": "analyst",
    "export": "analyst",
    "import": "admin",
}


@dataclass(frozen=True)
class User:
    name: str
    role: str
    source: str  # "local demo" | "oidc" | "proxy header"


def current_user() -> User:
    return User(name="local user", role="admin", source="local demo")


def allowed(action: str, user: User | None = None) -> bool:
    """True when the user's role is at least the role the action needs."""
    user = user or current_user()
    return ROLES.index(user.role) >= ROLES.index(PERMISSIONS[action])


def require(action: str) -> User:
    """Stop the page (nothing below runs) unless the user may do `action`."""
    user = current_user()
    if not allowed(action, user):
        st.error(f"Your role ({user.role}) may not open this page. Ask an administrator for access.")
        st.stop()
    return user
