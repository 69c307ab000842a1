"""The global filter sidebar, drawn once by app.py, mirrored in the URL.

The session's filters live in one plain session-state entry (`STATE_KEY`), not in the
widgets' own state: Streamlit drops every widget's state when a page change arrives without
widget values, which a browser sends when a page link is clicked before the sidebar's widgets
have mounted (seen in Chromium under load: the Period fell back to its first option, or the
run raised a KeyError). The widgets (keys f_*) mirror that entry: each run writes it into them
before drawing them, and their on_change copies a user's change back.
The URL is re-written on every run (st.navigation drops the query string when a
sidebar link is clicked), and read once when a session starts, so a copied link
reproduces the view. Unknown codes in a URL are dropped with a notice.

Communities: up to `community_list_max()` active ones (the sample has 41) are one multiselect.
Above that (34k at scale L) one list would send every name on every rerun and be unusable, so
the multiselect lists the matches of a "Find a community" search (the first
`COMMUNITY_SEARCH_LIMIT` by name) plus the communities already chosen. Names are looked up only
for the ids on screen, and a link's community ids are checked with a query for just those ids.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import date

import streamlit as st

from data_access.filters import PERIOD_PRESETS, Filters, format_period, resolve_period
from data_access.meetings import MAX_SEARCH_LEN
from data_access.reference import (
    CommunityMatches,
    community_matches,
    community_names,
    filter_options,
    latest_data_date,
    reference_names,
)
from ui import cache
from ui.auth import current_user
from ui.text import plain_md

DEFAULT_PERIOD = "last_90"
# session key -> URL parameter
URL_KEYS = {
    "f_period": "period",
    "f_start": "from",
    "f_end": "to",
    "f_communities": "community",
    "f_divisions": "division",
    "f_units": "unit",
}
LIST_KEYS = ("f_communities", "f_divisions", "f_units")
STATE_KEY = "_ced_filters"  # widget key -> value: the session's filters (the widgets mirror it)
SEARCH_KEY = "f_community_search"
COMMUNITY_LIST_MAX = 2000  # active communities shown as one list; above it, search first
COMMUNITY_SEARCH_LIMIT = 200  # matches listed per search


def community_list_max() -> int:
    """The most active communities listed in full (env CED_COMMUNITY_LIST_MAX, for tests and tuning)."""
    try:
        return max(1, int(os.environ.get("CED_COMMUNITY_LIST_MAX", COMMUNITY_LIST_MAX)))
    except ValueError:
        return COMMUNITY_LIST_MAX


def anchor_date() -> date:
    return cache.lookup(latest_data_date) or date.today()


def _parse_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _defaults(anchor: date) -> dict[str, object]:
    start, end = resolve_period(DEFAULT_PERIOD, anchor)
    return {
        "f_period": DEFAULT_PERIOD,
        "f_start": start,
        "f_end": end,
        "f_communities": [],
        "f_divisions": [],
        "f_units": [],
    }


def _load_from_url(options: dict[str, list[tuple[str, str]]], anchor: date) -> None:
    """Once per session: the URL's filters (validated) become the session's filters."""
    if STATE_KEY in st.session_state:
        return
    state = _defaults(anchor)
    qp = st.query_params
    dropped: list[str] = []
    period = qp.get("period")
    if period in PERIOD_PRESETS:
        state["f_period"] = period
    elif period:
        dropped.append(f"period={period}")
    if state["f_period"] == "custom":
        s, e = _parse_date(qp.get("from")), _parse_date(qp.get("to"))
        state["f_start"], state["f_end"] = resolve_period("custom", anchor, s, e)
    for key, kind in zip(LIST_KEYS, ("communities", "divisions", "units"), strict=True):
        wanted = qp.get_all(URL_KEYS[key])
        if kind == "communities":  # only the link's ids are looked up, never the whole list
            ids = tuple(sorted(set(wanted)))
            valid = set(cache.lookup(community_names, ids=ids, active_only=True)) if ids else set()
        else:
            valid = {code for code, _ in options[kind]}
        state[key] = [v for v in dict.fromkeys(wanted) if v in valid]
        dropped += [f"{URL_KEYS[key]}={v}" for v in wanted if v not in valid]
    st.session_state[STATE_KEY] = state
    if dropped:
        st.session_state["_url_dropped"] = dropped


def request(**changes: list[str] | str) -> None:
    """Ask for a filter change from inside a page (e.g. a click on a community); applied on the
    next run before the sidebar is drawn, so every page follows. Call st.rerun() after."""
    st.session_state["_pending_filters"] = {f"f_{k}": v for k, v in changes.items()}


def _apply_pending() -> None:
    pending = st.session_state.pop("_pending_filters", None)
    if pending:
        st.session_state[STATE_KEY].update(pending)


def _reset() -> None:
    st.session_state[STATE_KEY] = _defaults(anchor_date())
    st.session_state[SEARCH_KEY] = ""


def _take(key: str) -> None:
    """on_change of a filter widget: the user's change becomes the session's filter."""
    st.session_state[STATE_KEY][key] = st.session_state[key]


def _mirror(state: dict[str, object]) -> None:
    """Write the session's filters into the widgets before they are drawn. Every run, not only when
    they differ: a value written this way is sent to the browser with the widget, so a browser
    that lost (or never mounted) a widget shows the session's value, not the widget's default."""
    for key in URL_KEYS:
        value = state[key]
        st.session_state[key] = list(value) if isinstance(value, list) else value


def _community_control(listed: CommunityMatches) -> None:
    """The Communities multiselect: every active community when they are few, else search first."""
    s = st.session_state
    if listed.total <= len(listed.options):
        st.multiselect(
            "Communities",
            [c for c, _ in listed.options],
            format_func=dict(listed.options).get,
            key="f_communities",
            placeholder="All communities",
            on_change=_take,
            args=("f_communities",),
        )
        return
    text = st.text_input(
        "Find a community",
        key=SEARCH_KEY,
        max_chars=MAX_SEARCH_LEN,
        placeholder="Type part of a name",
    ).strip()
    if text:
        found = cache.lookup(community_matches, search=text, limit=COMMUNITY_SEARCH_LIMIT)
    else:  # the first names of the full list already in the cache
        found = CommunityMatches(listed.options[:COMMUNITY_SEARCH_LIMIT], listed.total)
    chosen = list(s[STATE_KEY]["f_communities"])
    labels = {**dict(found.options), **names(chosen)["communities"]}
    ids = chosen + [c for c, _ in found.options if c not in set(chosen)]
    shown = len(found.options)
    if not text:
        note = f"{found.total:,} active communities; the first {shown:,} by name are listed. Type part of a name to find others."
    elif found.total == 0:
        note = f"No active community name contains “{plain_md(text)}”."
    elif found.total > shown:
        note = f"{found.total:,} communities match “{plain_md(text)}”; the first {shown:,} by name are listed. Type more to narrow."
    else:
        note = f"{found.total:,} {'community matches' if found.total == 1 else 'communities match'} “{plain_md(text)}”."
    st.caption(note)
    st.multiselect(
        "Communities",
        ids,
        format_func=lambda c: labels.get(c, c),
        key="f_communities",
        placeholder="All communities",
        on_change=_take,
        args=("f_communities",),
    )


def _write_url(s: dict[str, object]) -> None:
    """Mirror the filters into the URL, leaving page-specific parameters alone."""
    wanted: dict[str, str | list[str]] = {}
    if s["f_period"] != DEFAULT_PERIOD:
        wanted["period"] = s["f_period"]
    if s["f_period"] == "custom":
        wanted["from"], wanted["to"] = s["f_start"].isoformat(), s["f_end"].isoformat()
    for key in LIST_KEYS:
        if s[key]:
            wanted[URL_KEYS[key]] = list(s[key])
    for param in URL_KEYS.values():
        current = st.query_params.get_all(param)
        value = wanted.get(param)
        target = [] if value is None else (value if isinstance(value, list) else [value])
        if current != target:
            if target:
                st.query_params[param] = target if len(target) > 1 else target[0]
            else:
                del st.query_params[param]


def sidebar() -> Filters:
    """Draw the filters in the sidebar and return them as a Filters value."""
    user = current_user()
    options = cache.lookup(filter_options)
    listed = cache.lookup(community_matches, search="", limit=community_list_max())
    anchor = anchor_date()
    _load_from_url(options, anchor)
    _apply_pending()
    labels = {kind: dict(pairs) for kind, pairs in options.items()}
    s = st.session_state
    state = s[STATE_KEY]
    if state["f_period"] != "custom":  # the preset's dates: shown, and where Custom starts from
        state["f_start"], state["f_end"] = resolve_period(state["f_period"], anchor)
    _mirror(state)
    with st.sidebar:
        st.markdown("### Filters")
        st.selectbox(
            "Period",
            list(PERIOD_PRESETS),
            format_func=PERIOD_PRESETS.get,
            key="f_period",
            on_change=_take,
            args=("f_period",),
        )
        if state["f_period"] == "custom":
            c1, c2 = st.columns(2)
            c1.date_input("From", key="f_start", format="YYYY-MM-DD", on_change=_take, args=("f_start",))
            c2.date_input("To", key="f_end", format="YYYY-MM-DD", on_change=_take, args=("f_end",))
        else:  # a preset's dates as text: date boxes cost the first page ~0.2 s in the browser
            st.caption(format_period(state["f_start"], state["f_end"]))
        _community_control(listed)
        st.multiselect(
            "Patrol divisions",
            [c for c, _ in options["divisions"]],
            format_func=labels["divisions"].get,
            key="f_divisions",
            placeholder="All patrol divisions",
            on_change=_take,
            args=("f_divisions",),
        )
        st.multiselect(
            "Units",
            [c for c, _ in options["units"]],
            format_func=lambda c: f"{c} · {labels['units'].get(c, c)}",
            key="f_units",
            placeholder="All units",
            on_change=_take,
            args=("f_units",),
        )
        st.button(
            "Reset filters", on_click=_reset, icon=":material/restart_alt:", width="stretch", key="f_reset"
        )
        if s.get("_url_dropped"):
            st.warning("Ignored unknown link values: " + ", ".join(s.pop("_url_dropped")))
        st.caption(
            f"Data through {anchor.day} {anchor:%b %Y} · signed in as {plain_md(user.name)} ({user.role}, {user.source})"
        )
    start, end = resolve_period(state["f_period"], anchor, state["f_start"], state["f_end"])
    _write_url(state)
    return Filters(
        start=start,
        end=end,
        communities=tuple(state["f_communities"]),
        divisions=tuple(state["f_divisions"]),
        units=tuple(state["f_units"]),
        role=user.role,
        preset=state["f_period"],
    )


def names(communities: Iterable[str] = ()) -> dict[str, dict[str, str]]:
    """Code → name for every division and unit and for the given communities only (a caption or a
    table shows a few of 34k at scale); cached per set of ids."""
    return cache.lookup(reference_names, communities=tuple(sorted(set(communities))))


def warm_lookups() -> None:
    """The lookups every session's sidebar makes first (ui.warmup runs them at server start)."""
    anchor_date()
    cache.lookup(filter_options)
    cache.lookup(community_matches, search="", limit=community_list_max())
    names()
