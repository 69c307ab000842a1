"""Real-browser journeys for roles, the audit trail and the hardened server.

1. The shared e2e server (local demo mode, everyone admin): the sidebar says so, the Data page
   opens; the `?boom=1` hook raises and the browser gets a generic message with no exception type,
   message or traceback; the server's XSRF, CORS, upload cap, usage stats and data-export settings
   are checked against the running server (HTTP and the session's config message), and the page
   asks for nothing outside loopback.
2. A second server in proxy-header mode (CED_TRUSTED_USER_HEADER / CED_TRUSTED_ROLE_HEADER), each
   browser context sending the headers an authenticating proxy would set:
   - a viewer whose very first request to the fresh server is /data is refused and sees nothing
     else; after the dashboard, /data by URL is refused again; the viewer gets no download buttons
     and no comment text;
   - an analyst reads comments, downloads a CSV (a formula-safe file arrives), and is refused /data;
   - a request without the header sees only "Not signed in";
   - the server's audit log holds the sign-ins, the refusals, the Feedback view and the export.
"""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.request import Request, urlopen

import pytest
from playwright.sync_api import expect

from data_access.audit import read_events
from tests.e2e.conftest import LOOPBACK_ONLY, App, _require_browser, streamlit_server


@pytest.fixture(autouse=True)
def patient_expect():
    """Two shared cores, often under other test runs (load 15+ seen): expect() waits up to 60 s here."""
    expect.set_options(timeout=60_000)
    yield
    expect.set_options(timeout=5_000)


BOOM_SECRETS = ("boom", "RuntimeError", "Traceback", "app.py", "test hook", "line ")


def _audit_path(db_url: str) -> Path:
    return Path(db_url.removeprefix("duckdb:///")).parent / "audit.jsonl"


class ConfigWatcher:
    """Reads the session's NewSession message: the config the server really sends to the browser."""

    def __init__(self, page) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self._fm = ForwardMsg
        self.config = None
        self.session_id: str | None = None
        page.on("websocket", lambda ws: ws.on("framereceived", self._on_frame))

    def _on_frame(self, payload) -> None:
        if isinstance(payload, str) or self.config is not None:
            return
        m = self._fm()
        m.ParseFromString(payload)
        if m.WhichOneof("type") == "new_session":
            self.config = m.new_session.config
            self.session_id = m.new_session.initialize.session_id


# ---------------------------------------------------------------- 1. local demo server


def test_local_demo_is_admin_and_errors_show_no_details(app, e2e_db_url):
    outside: list[str] = []
    app.page.on("request", lambda r: outside.append(r.url) if LOOPBACK_ONLY.match(r.url) else None)
    app.goto("/")
    sidebar = app.page.get_by_test_id("stSidebar")
    expect(sidebar).to_contain_text("(admin, local demo)")
    expect(app.page.get_by_test_id("stDownloadButton").first).to_be_visible()

    app.goto("/?boom=1")
    box = app.page.get_by_test_id("stException")
    expect(box).to_have_count(1)
    expect(box).to_contain_text("This app has encountered an error")
    shown = app.page.get_by_test_id("stMain").inner_text()
    assert not [s for s in BOOM_SECRETS if s in shown], shown
    app.shot("roles_boom_generic_error", full_page=False)
    assert outside == [], outside  # no usage statistics or anything else leaves the machine
    assert app.errors == []


def test_running_server_enforces_the_hardened_settings(app, server):
    watcher = ConfigWatcher(app.page)
    app.goto("/")
    cfg = watcher.config
    assert cfg is not None and watcher.session_id
    assert cfg.gather_usage_stats is False
    assert cfg.disable_data_export is True
    assert cfg.allow_run_on_save is False
    assert cfg.toolbar_mode == cfg.MINIMAL
    expect(app.page.get_by_test_id("stMainMenu")).to_have_count(0)

    # XSRF: the server hands out the cookie, and an upload without the matching header is refused
    with urlopen(f"{server}/_stcore/health") as r:
        cookie = r.headers.get("Set-Cookie", "")
    assert cookie.startswith("_streamlit_xsrf="), cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    host, port = server.removeprefix("http://").split(":")
    upload = f"/_stcore/upload_file/{watcher.session_id}/f1"

    def put(headers: dict[str, str], body: bytes = b"") -> int:
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            conn.putrequest("PUT", upload)
            for k, v in headers.items():
                conn.putheader(k, v)
            conn.endheaders()
            if body:
                conn.send(body)
            return conn.getresponse().status
        finally:
            conn.close()

    form = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\nx,y\r\n--b--\r\n'
    multipart = {"Content-Type": "multipart/form-data; boundary=b", "Content-Length": str(len(form))}
    assert put(multipart, form) == 403  # no XSRF token
    assert put({**multipart, "Cookie": f"_streamlit_xsrf={token}", "X-Xsrftoken": "2|00|11|22"}, form) == 403
    ok_headers = {**multipart, "Cookie": f"_streamlit_xsrf={token}", "X-Xsrftoken": token}
    assert put(ok_headers, form) in (200, 204)  # the same upload with the token is accepted
    # the upload cap: 50 MB (+ multipart slack) is refused before any of the body is read
    too_big = {**ok_headers, "Content-Length": str(51 * 1024 * 1024)}
    assert put(too_big) == 413

    # CORS: another site's page gets no Access-Control-Allow-Origin, and its websocket is refused
    with urlopen(Request(f"{server}/_stcore/health", headers={"Origin": "https://evil.example"})) as r:
        assert r.headers.get("Access-Control-Allow-Origin") is None
    import websockets.sync.client as wsc

    ws_url = server.replace("http://", "ws://") + "/_stcore/stream"
    wsc.connect(ws_url, origin=server, open_timeout=10).close()  # control: the same origin is let in
    with pytest.raises(Exception, match="403|rejected|refused"):
        wsc.connect(ws_url, origin="https://evil.example", open_timeout=10).close()
    assert app.errors == []


def test_admin_opens_the_data_page_in_local_demo(app):
    app.goto("/")
    app.rerun(lambda: app.page.get_by_test_id("stSidebarNavLink").filter(has_text="Data").click())
    expect(app.page.get_by_test_id("stFileUploader").first).to_be_visible()
    expect(app.page.get_by_text("may not open this page")).to_have_count(0)
    assert app.errors == []


# ---------------------------------------------------------------- 2. proxy-header server


@pytest.fixture(scope="module")
def proxy_server(e2e_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A second server that trusts X-Forwarded-User / X-Forwarded-Role, with its own audit log."""
    _require_browser()
    folder = tmp_path_factory.mktemp("proxy")
    audit = folder / "audit.jsonl"
    env = {
        "CED_DATABASE_URL": e2e_db_url,
        "CED_AUDIT_LOG": str(audit),
        "CED_TRUSTED_USER_HEADER": "X-Forwarded-User",
        "CED_TRUSTED_ROLE_HEADER": "X-Forwarded-Role",
    }
    with streamlit_server(env, folder / "streamlit.log") as url:
        yield url, audit


@pytest.fixture
def as_user(browser, proxy_server):
    url, _ = proxy_server
    contexts = []

    def make(role: str | None) -> App:
        headers = (
            {} if role is None else {"X-Forwarded-User": f"{role}@example.gov", "X-Forwarded-Role": role}
        )
        ctx = browser.new_context(
            base_url=url, viewport={"width": 1400, "height": 900}, extra_http_headers=headers
        )
        ctx.route(LOOPBACK_ONLY, lambda route: route.abort())
        ctx.set_default_timeout(30_000)
        contexts.append(ctx)
        return App(ctx.new_page(), url)

    yield make
    for ctx in contexts:
        ctx.close()


PROBE_404 = "console: Failed to load resource: the server responded with a status of 404 (Not Found)"
BASE_PATH_PROBE = re.compile(r"^http://127\.0\.0\.1:\d+/[a-z]+/_stcore/(health|host-config)$")


def _watch_failed_responses(app: App) -> list[str]:
    """HTTP errors the page saw. Opening /data by URL makes Streamlit's frontend first probe /data/_stcore/…
    for a base path (404, logged to the console) before it settles on /; those probes are expected."""
    failed: list[str] = []
    app.page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    return failed


def _unexpected_errors(app: App, failed: list[str]) -> list[str]:
    probes = [u for u in failed if BASE_PATH_PROBE.match(u)]
    others = [u for u in failed if not BASE_PATH_PROBE.match(u)]
    console = [e for e in app.errors if e != PROBE_404]
    assert app.errors.count(PROBE_404) <= len(probes)
    return others + console


def _refused(app: App) -> None:
    main = app.page.get_by_test_id("stMain")
    expect(main.get_by_test_id("stAlertContentError")).to_contain_text("may not open this page")
    expect(main.get_by_test_id("stFileUploader")).to_have_count(0)
    expect(main.get_by_test_id("stDownloadButton")).to_have_count(0)
    expect(main.get_by_test_id("stDataFrame")).to_have_count(0)
    expect(main.get_by_role("heading", name="Data")).to_have_count(0)
    expect(app.page.locator("[data-testid^=stSkeleton]")).to_have_count(0)  # sidebar drawn before any shot


def test_viewer_is_refused_the_data_page_and_sees_no_exports(as_user, proxy_server):
    _, audit = proxy_server
    viewer = as_user("viewer")
    failed = _watch_failed_responses(viewer)
    # the very first request this server sees: a deep link straight to the Data page
    viewer.goto("/data")
    _refused(viewer)
    viewer.shot("roles_viewer_data_refused_first_request", full_page=False)

    viewer.goto("/")
    expect(viewer.page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(viewer.page.get_by_test_id("stSidebar")).to_contain_text(
        "viewer@example.gov (viewer, proxy header)"
    )
    expect(viewer.page.get_by_test_id("stMetric")).to_have_count(6)
    # the needs-attention table
    expect(viewer.page.get_by_role("columnheader", name="Detail")).to_be_visible()
    expect(viewer.page.get_by_test_id("stDownloadButton")).to_have_count(0)
    expect(viewer.page.locator("[data-testid^=stSkeleton]")).to_have_count(0)
    viewer.shot("roles_viewer_overview", full_page=False)

    viewer.rerun(lambda: viewer.page.get_by_test_id("stSidebarNavLink").filter(has_text="Feedback").click())
    expect(
        viewer.page.get_by_text("Comment text is shown to analysts and administrators only")
    ).to_be_visible()
    expect(viewer.page.get_by_test_id("stDownloadButton")).to_have_count(0)
    expect(viewer.page.get_by_role("textbox", name="Search comments")).to_have_count(0)
    viewer.page.get_by_text(
        "Comment text is shown to analysts and administrators only"
    ).scroll_into_view_if_needed()
    expect(viewer.page.locator("[data-testid^=stSkeleton]")).to_have_count(0)
    viewer.shot("roles_viewer_feedback_no_comments", full_page=False)

    viewer.goto("/data")  # by URL again, now through the app's own router
    _refused(viewer)
    viewer.shot("roles_viewer_data_refused", full_page=False)
    assert _unexpected_errors(viewer, failed) == []

    events = [(e.user, e.event, e.detail, e.outcome) for e in read_events(audit, user="viewer@example.gov")]
    assert ("viewer@example.gov", "sign_in", "via proxy header", "ok") in events
    assert events.count(("viewer@example.gov", "page_view", "Data page", "denied")) == 2
    assert ("viewer@example.gov", "page_view", "Feedback page (comments hidden)", "ok") in events
    assert not [e for e in events if e[1] in ("export", "import")]


def test_analyst_reads_comments_exports_and_is_refused_the_data_page(as_user, proxy_server, tmp_path):
    _, audit = proxy_server
    analyst = as_user("analyst")
    failed = _watch_failed_responses(analyst)
    analyst.goto("/")
    expect(analyst.page.get_by_test_id("stSidebar")).to_contain_text("(analyst, proxy header)")
    button = analyst.page.get_by_test_id("stDownloadButton").first
    expect(button).to_be_visible()
    with analyst.page.expect_download() as info:
        button.get_by_role("button").click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.name == "needs_attention.csv" and saved.read_bytes().decode("utf-8-sig").startswith(
        "kind,subject,detail"
    )

    analyst.rerun(lambda: analyst.page.get_by_test_id("stSidebarNavLink").filter(has_text="Feedback").click())
    expect(analyst.page.get_by_role("textbox", name="Search comments")).to_be_visible()
    expect(
        analyst.page.get_by_text("Comment text is shown to analysts and administrators only")
    ).to_have_count(0)
    analyst.page.get_by_role("textbox", name="Search comments").scroll_into_view_if_needed()
    expect(analyst.page.locator("[data-testid^=stSkeleton]")).to_have_count(0)
    analyst.shot("roles_analyst_comments", full_page=False)

    analyst.goto("/data")
    _refused(analyst)
    assert _unexpected_errors(analyst, failed) == []

    events = [(e.event, e.detail, e.outcome) for e in read_events(audit, user="analyst@example.gov")]
    assert ("sign_in", "via proxy header", "ok") in events
    exports = [d for ev, d, o in events if ev == "export" and o == "ok"]
    assert len(exports) == 1 and re.fullmatch(r"needs_attention\.csv \([\d,]+ rows\)", exports[0]), exports
    assert ("page_view", "Feedback page (comments shown)", "ok") in events
    assert ("page_view", "Data page", "denied") in events


def test_request_without_the_proxy_header_is_not_signed_in(as_user, proxy_server):
    _, audit = proxy_server
    stranger = as_user(None)
    stranger.goto("/")
    expect(stranger.page.get_by_text("Not signed in")).to_be_visible()
    expect(stranger.page.get_by_test_id("stMetric")).to_have_count(0)
    expect(stranger.page.get_by_test_id("stSidebar").get_by_role("combobox")).to_have_count(0)
    stranger.shot("roles_not_signed_in", full_page=False)
    lines = [json.loads(x) for x in audit.read_text().splitlines()]
    assert any(x["event"] == "sign_in" and x["outcome"] == "denied" for x in lines)
