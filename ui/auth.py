"""Who is looking, and in which role (viewer, analyst, admin).

With no identity provider configured (local demo) everyone is admin, and the
sidebar says so.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class User:
    name: str
    role: str
    source: str  # "local demo" | "oidc" | "proxy header"


def current_user() -> User:
    return User(name="local user", role="admin", source="local demo")
