"""Roles through the real app (AppTest): what each role sees, what the cache hands out, what the audit log records.

Identity comes the production way: the proxy-header mode is switched on with its env vars and the
request headers are supplied in place of a browser's handshake; one test uses OIDC (`st.user`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import ui.auth
from data_access.audit import read_events
from tests.pages.markdown_tables import markdown_table

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
NASTY = ["' OR '1'='1", "'; DROP TABLE x;--", "\u202eC001\u200b", "🤝", "\x01\x1b[31m"]


@pytest.fixture
def audit_log(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "audit.jsonl"
    monkeypatch.setenv("CED_AUDIT_LOG", str(path))
    return path


@pytest.fixture
def session(sample_db_url, audit_log, monkeypatch):
    """make(role) -> an AppTest session signed in through the proxy headers as `<role>@example.gov`."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    deferred: dict[str, object] = {}  # deferred file id -> the download button's data callable
    add_deferred = MediaFileManager.add_deferred

    def keep(self, data_callable, *args, **kwargs):
        file_id = add_deferred(self, data_callable, *args, **kwargs)
        deferred[file_id] = data_callable
        return file_id

    monkeypatch.setattr(MediaFileManager, "add_deferred", keep)
    monkeypatch.setenv("CED_DATABASE_URL", sample_db_url)
    monkeypatch.setenv("CED_TRUSTED_USER_HEADER", "X-Forwarded-User")
    monkeypatch.setenv("CED_TRUSTED_ROLE_HEADER", "X-Forwarded-Role")
    headers: dict[int, list[tuple[str, str]]] = {}
    current: list[int] = []

    def fake_headers() -> list[tuple[str, str]]:
        return headers[current[-1]]

    monkeypatch.setattr(ui.auth, "_request_headers", fake_headers)

    class Session:
        def __init__(self, role: str | None) -> None:
            self.at = AppTest.from_file(APP, default_timeout=90)
            self.key = len(headers)
            headers[self.key] = (
                []
                if role is None
                else [("X-Forwarded-User", f"{role}@example.gov"), ("X-Forwarded-Role", role)]
            )

        def run(self) -> AppTest:
            current.append(self.key)
            self.at.run()
            return self.at

        def page(self, path: str) -> AppTest:
            current.append(self.key)
            self.at.switch_page(path).run()
            return self.at

        def download(self, index: int = 0) -> bytes:
            """What the browser gets for the page's `index`-th download button: its deferred file,
            built as Streamlit's download thread builds it (no script run)."""
            button = self.at.download_button[index]
            return deferred[button.proto.deferred_file_id]()

    return Session


def _protos(node):
    for child in getattr(node, "children", {}).values():
        proto = getattr(child, "proto", None)
        if proto is not None and hasattr(proto, "SerializeToString"):
            yield proto
        yield from _protos(child)


def _sent_to_browser(at: AppTest) -> bytes:
    """Every element the run produced, serialized as it would travel (dataframes as Arrow, charts as JSON)."""
    return b"".join(p.SerializeToString() for p in _protos(at._tree))


def _comments_table(at: AppTest) -> pd.DataFrame | None:
    for df in at.dataframe:
        if "Comment" in df.value.columns:
            return df.value
    return None


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


# ---------------------------------------------------------------- what each role sees


def test_viewer_sees_dashboards_without_downloads(session):
    at = session("viewer").run()
    _no_exception(at)
    assert at.title[0].value == "Overview"
    assert len(at.metric) >= 6  # the dashboard itself is there
    assert len(at.download_button) == 0
    assert any(r"viewer@example\.gov (viewer, proxy header)" in c.value for c in at.sidebar.caption)


def test_analyst_and_admin_get_downloads_on_the_overview(session):
    for role in ("analyst", "admin"):
        at = session(role).run()
        _no_exception(at)
        assert len(at.download_button) >= 1, role


def test_the_identity_is_read_once_a_run_and_a_changed_one_is_seen_at_the_next_run(session, monkeypatch):
    s = session("analyst")
    reads: list[int] = []
    read_headers = ui.auth._request_headers

    def counted() -> list[tuple[str, str]]:
        reads.append(1)
        return read_headers()

    monkeypatch.setattr(ui.auth, "_request_headers", counted)
    at = s.page("pages/feedback.py")
    _no_exception(at)
    assert len(reads) == 1  # the sidebar, the comments, the downloads, the audit all asked
    assert _comments_table(at) is not None and len(at.download_button) >= 1
    # the proxy now says viewer for this same browser session: the next run is a viewer's
    session_headers = read_headers()
    session_headers[:] = [("X-Forwarded-User", "analyst@example.gov"), ("X-Forwarded-Role", "viewer")]
    reads.clear()
    at = s.run()
    _no_exception(at)
    assert len(reads) == 1
    assert _comments_table(at) is None and len(at.download_button) == 0
    assert any(r"analyst@example\.gov (viewer, proxy header)" in c.value for c in at.sidebar.caption)


@pytest.fixture
def short_needs_list(monkeypatch):
    """The Overview names only the 2 most overdue communities (cached pages cleared either side:
    the cap is a module constant, not part of a cache key)."""
    import data_access.overview
    import ui.cache

    ui.cache.clear()
    monkeypatch.setattr(data_access.overview, "NEEDS_COMMUNITY_ROWS", 2)
    yield 2
    ui.cache.clear()


def test_overview_shows_the_most_overdue_and_its_csv_holds_the_whole_list(
    session, sample_db_url, short_needs_list
):
    from data_access.db import Database
    from data_access.overview import needs_attention
    from data_access.settings import small_n_k

    s = session("analyst")
    at = s.run()
    _no_exception(at)
    with Database(sample_db_url).connect() as conn:
        whole = needs_attention(conn, at.session_state["filters"], small_n_k())
    overdue = int((whole["kind"] == "Overdue community").sum())
    assert overdue > short_needs_list  # the sample's default view has more than the cap
    _, shown = markdown_table(at, "What")
    assert [row[0].endswith("Overdue community") for row in shown].count(True) == short_needs_list
    assert len(shown) == len(whole) - overdue + short_needs_list  # every other item still shown
    assert any(
        f"**{overdue:,}** overdue communities" in m.value for m in at.markdown
    )  # counts: the whole list
    assert any(f"Showing the {short_needs_list} most overdue of {overdue:,}" in c.value for c in at.caption)
    body = s.download(0).decode("utf-8-sig")
    assert len(body.splitlines()) - 1 == len(whole)  # the CSV: the whole list, not the table


def test_briefing_overview_csv_holds_the_whole_needs_list(session, sample_db_url, short_needs_list):
    from data_access.db import Database
    from data_access.overview import needs_attention
    from data_access.settings import small_n_k

    s = session("analyst")
    s.run()
    at = s.page("pages/briefing.py")
    _no_exception(at)
    with Database(sample_db_url).connect() as conn:
        whole = needs_attention(conn, at.session_state["filters"], small_n_k())
    assert any(f"{len(whole):,} items" in h.value for h in at.subheader)  # the slide counts them all
    (index,) = [i for i, b in enumerate(at.download_button) if b.label == "Download data (CSV)"]
    body = s.download(index).decode("utf-8-sig")
    assert len(body.splitlines()) - 1 == len(whole)


def test_comments_reach_analysts_but_never_a_viewer_even_from_a_warm_cache(session):
    """Analyst first (fills the process-wide cache with comment pages), then a viewer in the same server."""
    analyst = session("analyst")
    analyst.run()
    at = analyst.page("pages/feedback.py")
    _no_exception(at)
    comments = _comments_table(at)
    assert comments is not None and len(comments) > 0
    assert any(b.label for b in at.download_button)  # comments can be exported by an analyst
    sample = [c for c in comments["Comment"] if len(c) >= 12][:10]
    assert sample

    viewer = session("viewer")
    viewer.run()
    vat = viewer.page("pages/feedback.py")
    _no_exception(vat)
    assert _comments_table(vat) is None
    assert len(vat.download_button) == 0
    assert any("shown to analysts and administrators only" in i.value for i in vat.info)
    sent = _sent_to_browser(vat)
    assert len(sent) > 10_000  # the page did render its charts and tables
    leaked = [c for c in sample if c.encode() in sent]
    assert leaked == []
    assert any(c.encode() in _sent_to_browser(at) for c in sample)  # the probe can see comment text


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_data_page_refuses_below_admin_and_runs_nothing(session, role, audit_log):
    s = session(role)
    s.run()
    at = s.page("pages/data.py")
    _no_exception(at)
    assert any(f"Your role ({role}) may not open this page" in e.value for e in at.error)
    assert len(at.get("file_uploader")) == 0
    assert len(at.download_button) == 0
    assert len(at.title) == 0 and len(at.dataframe) == 0  # nothing below require() ran
    views = read_events(audit_log, event="page_view")
    assert [(e.user, e.role, e.detail, e.outcome) for e in views] == [
        (f"{role}@example.gov", role, "Data page", "denied")
    ]


def test_admin_opens_the_data_page(session):
    s = session("admin")
    s.run()
    at = s.page("pages/data.py")
    _no_exception(at)
    assert len(at.get("file_uploader")) >= 1
    assert not any("may not open this page" in e.value for e in at.error)


def test_request_without_identity_sees_only_a_refusal(session, audit_log):
    at = session(None).run()
    _no_exception(at)
    assert any("Not signed in" in e.value for e in at.error)
    assert len(at.metric) == 0 and len(at.dataframe) == 0 and len(at.sidebar.multiselect) == 0
    (event,) = read_events(audit_log)
    assert (event.event, event.outcome) == ("sign_in", "denied")


# ---------------------------------------------------------------- OIDC


ROLES = {"default": "viewer", "users": {"lead@example.gov": "analyst"}, "groups": {"ced-admins": "admin"}}
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "x" * 32,
    "client_id": "dashboard",
    "client_secret": "not-a-real-secret",
    "server_metadata_url": "https://idp.example.gov/.well-known/openid-configuration",
}


@pytest.fixture
def oidc_app(sample_db_url, audit_log, monkeypatch):
    monkeypatch.setenv("CED_DATABASE_URL", sample_db_url)
    monkeypatch.delenv("CED_TRUSTED_USER_HEADER", raising=False)

    def make(user: dict) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=90)
        at.secrets["auth"] = AUTH
        at.secrets["roles"] = ROLES
        at.user = user
        return at

    return make


def test_oidc_signed_out_sees_only_a_sign_in_button(oidc_app):
    at = oidc_app({"is_logged_in": False}).run()
    _no_exception(at)
    assert [b.label for b in at.button] == ["Sign in"]
    assert len(at.metric) == 0 and len(at.sidebar.multiselect) == 0


def test_oidc_roles_come_from_the_roles_table(oidc_app, audit_log):
    lead = oidc_app({"is_logged_in": True, "email": "lead@example.gov", "name": "Sgt Lead"}).run()
    _no_exception(lead)
    assert any(r"lead@example\.gov (analyst, oidc)" in c.value for c in lead.sidebar.caption)
    assert len(lead.download_button) >= 1
    other = oidc_app({"is_logged_in": True, "email": "someone@example.gov"}).run()
    assert any("(viewer, oidc)" in c.value for c in other.sidebar.caption)
    assert len(other.download_button) == 0
    admin = oidc_app({"is_logged_in": True, "email": "chief@example.gov", "groups": ["ced-admins"]}).run()
    assert any("(admin, oidc)" in c.value for c in admin.sidebar.caption)
    signed = [(e.user, e.role, e.detail) for e in read_events(audit_log, event="sign_in")]
    assert signed == [
        ("lead@example.gov", "analyst", "via oidc"),
        ("someone@example.gov", "viewer", "via oidc"),
        ("chief@example.gov", "admin", "via oidc"),
    ]


# ---------------------------------------------------------------- audit rows


def test_sign_in_is_recorded_once_per_session_not_per_rerun(session, audit_log):
    s = session("analyst")
    s.run()
    s.run()
    s.page("pages/coverage.py")
    session("analyst").run()  # a second browser session
    signed = read_events(audit_log, event="sign_in")
    assert [(e.user, e.role, e.outcome) for e in signed] == [("analyst@example.gov", "analyst", "ok")] * 2


def test_export_is_recorded_with_file_and_rows_when_the_file_is_built(session, audit_log):
    s = session("analyst")
    at = s.run()
    assert read_events(audit_log, event="export") == []  # rendering a button is not an export
    assert at.download_button[0].proto.ignore_rerun  # a click must not rerun (it would race the file)
    body = s.download(0).decode("utf-8-sig")
    rows = len(body.splitlines()) - 1  # one line per row: the names and reasons hold no newline
    (export,) = read_events(audit_log, event="export")
    assert (export.user, export.role, export.outcome) == ("analyst@example.gov", "analyst", "ok")
    assert export.detail == f"needs_attention.csv ({rows:,} rows)" and rows > 0


def test_an_export_whose_file_fails_is_recorded_as_failed(audit_log, monkeypatch):
    import ui.audit

    monkeypatch.setattr(ui.audit, "current_user", lambda: ui.auth.User("a@x", "analyst", "proxy header"))

    def broken() -> tuple[bytes, int]:
        raise RuntimeError("database gone")

    data = ui.audit.export_data("worklist.csv", broken)
    assert read_events(audit_log, event="export") == []
    with pytest.raises(RuntimeError):
        data()
    (export,) = read_events(audit_log, event="export")
    assert (export.user, export.detail, export.outcome) == ("a@x", "worklist.csv", "failed")


PAGE_VIEW_SCRIPT = """
import streamlit as st
from ui.audit import page_view

for title in st.session_state.get("visits", []):
    page_view(title)
"""


def test_page_views_are_recorded_once_per_visit_of_a_sensitive_page(sample_db_url, audit_log, monkeypatch):
    """What app.py's one call records as a session moves between pages (reruns on a page add nothing)."""
    monkeypatch.setenv("CED_DATABASE_URL", sample_db_url)
    monkeypatch.setenv("CED_TRUSTED_USER_HEADER", "X-Forwarded-User")
    monkeypatch.setenv("CED_TRUSTED_ROLE_HEADER", "X-Forwarded-Role")
    role_now = ["viewer"]
    monkeypatch.setattr(
        ui.auth, "_request_headers", lambda: [("X-Forwarded-User", "u@x"), ("X-Forwarded-Role", role_now[0])]
    )
    for role in ("viewer", "analyst", "admin"):
        role_now[0] = role
        at = AppTest.from_string(PAGE_VIEW_SCRIPT, default_timeout=60)
        for visits in (["Overview"], ["Feedback"], ["Feedback"], ["Data"], ["Overview"], ["Feedback"]):
            at.session_state["visits"] = visits
            at.run()
            _no_exception(at)
    views = [(e.role, e.detail, e.outcome) for e in read_events(audit_log, event="page_view")]
    assert views == [
        ("viewer", "Feedback page (comments hidden)", "ok"),
        ("viewer", "Feedback page (comments hidden)", "ok"),  # Data refused: recorded by require() instead
        ("analyst", "Feedback page (comments shown)", "ok"),
        ("analyst", "Feedback page (comments shown)", "ok"),
        ("admin", "Feedback page (comments shown)", "ok"),
        ("admin", "Data page", "ok"),
        ("admin", "Feedback page (comments shown)", "ok"),
    ]


def test_a_refused_page_is_recorded_once_per_visit(session, audit_log):
    s = session("viewer")
    s.run()
    s.page("pages/data.py")
    s.run()  # a rerun on the refused page
    assert len(read_events(audit_log, event="page_view")) == 1


IMPORT_SCRIPT = """
import streamlit as st
from ui.audit import import_files
from tests.fixtures import csv_bytes, DIVISIONS

good = ("patrol_divisions", "divisions.csv", csv_bytes("patrol_divisions", DIVISIONS + [{"division_code": "WEST", "name": "West"}]))
bad = ("patrol_divisions", "bad.csv", b"division_code,name\\n,Nameless\\n")
try:
    results = import_files([good, bad])
    st.write("imported", [r.committed for r in results])
except PermissionError as exc:
    st.write("refused", str(exc))
"""


def test_imports_are_recorded_per_file_and_refused_below_admin(tmp_path, audit_log, monkeypatch):
    from tests.fixtures import build

    db = build(tmp_path)
    monkeypatch.setenv("CED_DATABASE_URL", db.url)
    monkeypatch.setenv("CED_TRUSTED_USER_HEADER", "X-Forwarded-User")
    monkeypatch.setenv("CED_TRUSTED_ROLE_HEADER", "X-Forwarded-Role")
    version_before = db.version

    role_now = ["viewer"]
    monkeypatch.setattr(
        ui.auth, "_request_headers", lambda: [("X-Forwarded-User", "u@x"), ("X-Forwarded-Role", role_now[0])]
    )
    viewer = AppTest.from_string(IMPORT_SCRIPT, default_timeout=60).run()
    _no_exception(viewer)
    assert "refused" in viewer.markdown[0].value
    assert db.version == version_before  # the importer never ran

    role_now[0] = "admin"
    admin = AppTest.from_string(IMPORT_SCRIPT, default_timeout=60).run()
    _no_exception(admin)
    assert db.version != version_before

    imports = [(e.role, e.outcome, e.detail) for e in read_events(audit_log, event="import")]
    assert imports[0] == ("viewer", "denied", "divisions.csv, bad.csv")
    assert [(r, o) for r, o, _ in imports[1:]] == [("admin", "ok"), ("admin", "failed")]
    assert imports[1][2].startswith("divisions.csv → patrol_divisions: 3 rows, 1 added")
    assert imports[2][2].startswith("bad.csv → patrol_divisions: rejected")


# ---------------------------------------------------------------- the cache never crosses roles


def test_cache_keys_carry_the_role(sample_db_url, monkeypatch):
    """Same Filters except the role: two entries, each computed for its own role, each reused."""
    import sys
    import types
    from datetime import date

    from data_access.filters import Filters
    from ui import cache

    monkeypatch.setenv("CED_DATABASE_URL", sample_db_url)
    calls: list[str] = []
    probe = types.ModuleType("data_access.role_probe")

    def who_asked(conn, filters):
        calls.append(filters.role)
        return f"computed for {filters.role}"

    who_asked.__module__, who_asked.__qualname__ = probe.__name__, "who_asked"
    probe.who_asked = who_asked
    monkeypatch.setitem(sys.modules, probe.__name__, probe)
    cache.clear()
    base = dict(start=date(2026, 1, 1), end=date(2026, 3, 31), communities=("C004",))
    for _ in range(2):
        assert cache.query(who_asked, Filters(**base, role="admin")) == "computed for admin"
        assert cache.query(who_asked, Filters(**base, role="viewer")) == "computed for viewer"
        assert cache.query(who_asked, Filters(**base, role="analyst")) == "computed for analyst"
    assert calls == ["admin", "viewer", "analyst"]  # one computation per role, then cache hits
    cache.clear()


def test_comment_queries_through_the_cache_refuse_a_viewer_after_an_analyst_warmed_it(
    sample_db_url, monkeypatch
):
    from datetime import date

    from data_access import feedback as fb
    from data_access.filters import Filters
    from ui import cache

    monkeypatch.setenv("CED_DATABASE_URL", sample_db_url)
    cache.clear()
    base = dict(start=date(2026, 1, 1), end=date(2026, 11, 20))
    warm = cache.query(fb.comment_page, Filters(**base, role="analyst"), k=10, search="", topic="", page=1)
    assert warm.total > 0
    assert cache.query(fb.comment_topics, Filters(**base, role="analyst"), k=10)
    with pytest.raises(PermissionError):
        cache.query(fb.comment_page, Filters(**base, role="viewer"), k=10, search="", topic="", page=1)
    assert cache.query(fb.comment_topics, Filters(**base, role="viewer"), k=10) == []
    cache.clear()


def test_pages_pass_the_role_to_every_lookup_that_is_not_public_reference_data():
    """cache.lookup has no Filters, so its role argument is the only thing separating roles; reference
    lookups (names, options, dates, freshness) are the same for everyone."""
    import ast

    public = {
        "reference_names",
        "filter_options",
        "community_matches",
        "community_names",
        "latest_data_date",
        "last_import_time",
        "table_freshness",
        "unit_freshness",
        "import_count",
        "import_history",
        "stale_units",
    }
    offenders = []
    for path in [*sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "ui").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("cache.lookup"):
                fn = ast.unparse(node.args[0]).split(".")[-1] if node.args else "?"
                if fn not in public and not any(k.arg == "role" for k in node.keywords):
                    offenders.append(f"{path.name}:{node.lineno} lookup({fn}) without role=")
    assert offenders == []


def test_pages_that_refuse_and_pages_that_are_audited_agree():
    """require(action) refuses and audits; ui.audit.page_view audits the visits that go ahead. A page
    calling require() must be listed in SENSITIVE_PAGES with that action, and a listed whole-page
    refusal must really call require()."""
    import ast

    from ui.auth import SENSITIVE_PAGES

    titles = {}
    for node in ast.walk(ast.parse((ROOT / "app.py").read_text())):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "PAGES":
            titles = {e.elts[0].value: e.elts[1].value for e in node.value.elts}
    assert titles
    required = {}
    for path, title in titles.items():
        file = ROOT / path
        if not file.exists():
            continue
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.Call) and ast.unparse(node.func).split(".")[-1] == "require":
                required[title] = node.args[0].value
    assert required, "no page calls require()"
    for title, action in required.items():
        assert SENSITIVE_PAGES.get(title, (None,))[0] == action, (title, action)
    for title, (action, whole_page) in SENSITIVE_PAGES.items():
        if whole_page:
            assert required.get(title) == action, title


# ---------------------------------------------------------------- hostile URLs


def test_hostile_url_values_are_dropped_with_a_notice(session):
    s = session("admin")
    s.at.query_params["community"] = NASTY
    s.at.query_params["division"] = "' OR '1'='1"
    s.at.query_params["unit"] = "'; DROP TABLE x;--"
    s.at.query_params["period"] = "ytd' OR '1'='1"
    at = s.run()
    _no_exception(at)
    assert at.multiselect(key="f_communities").value == []
    assert at.multiselect(key="f_divisions").value == []
    assert at.multiselect(key="f_units").value == []
    assert at.selectbox(key="f_period").value == "last_90"
    (notice,) = [w.value for w in at.sidebar.warning if "Ignored unknown link values" in w.value]
    assert "community=' OR '1'='1" in notice and "period=ytd' OR '1'='1" in notice
    assert at.title[0].value == "Overview" and len(at.metric) >= 6


def test_audit_lines_are_json_with_exactly_the_documented_fields(session, audit_log):
    session("viewer").run()
    for line in audit_log.read_text().splitlines():
        assert list(json.loads(line)) == ["time", "user", "role", "event", "detail", "outcome"]
