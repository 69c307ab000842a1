"""Real headless-Chromium fixtures (recipe: ../shared/TESTING.md).

One Streamlit server per session on a free loopback port, serving a database built
from sample_data/ in a temp folder; one browser per session; a fresh context per
test with every non-loopback request aborted. `App` waits for Streamlit runs by
counting script_finished frames on the websocket, then for an idle DOM.

A missing Chromium skips these tests on a laptop but fails them under CI=true.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.request import urlopen

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "e2e"
CHROMIUM = os.environ.get("CED_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOOPBACK_ONLY = re.compile(r"^(?!(?:https?|wss?)://(?:127\.0\.0\.1|localhost)[:/]).+")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)


SERVER_LOGS: list[Path] = []  # the session server's log, for failure reports


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # noqa: ARG001
    """A failed browser test's report also carries the page's URL and the server log's tail (a
    flaky failure in CI is otherwise hard to explain after the fact)."""
    outcome = yield
    rep = outcome.get_result()
    if rep.when != "call" or not rep.failed or "tests/e2e/" not in str(item.fspath).replace(os.sep, "/"):
        return
    app = getattr(item, "funcargs", {}).get("app")
    if app is not None:
        rep.sections.append(("page URL at failure", app.page.url))
    if SERVER_LOGS:
        rep.sections.append(
            ("streamlit server log (tail)", SERVER_LOGS[-1].read_text(errors="replace")[-4000:])
        )


def _require_browser() -> None:
    if shutil.which(CHROMIUM) or Path(CHROMIUM).exists():
        return
    msg = f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set CED_CHROMIUM)"
    if os.environ.get("CI"):
        pytest.fail(msg, pytrace=False)
    pytest.skip(msg)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def e2e_db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    from data_access.importer import import_files, sample_files

    url = f"duckdb:///{tmp_path_factory.mktemp('e2e') / 'engagement.duckdb'}"
    assert all(r.committed for r in import_files(sample_files(), user="e2e", url=url))
    return url


@contextmanager
def streamlit_server(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """`streamlit run serve.py` (as `make run`) on a free loopback port with extra env; yields its URL.

    Output goes to a log file (a full pipe would block the server); the log tail is raised when
    the server dies or never becomes healthy; the whole process group is stopped afterwards.
    """
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    full_env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", **env}
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "serve.py",  # the same entry point as `make run`
                "--server.headless=true",
                "--server.address=127.0.0.1",
                f"--server.port={port}",
                "--server.fileWatcherType=none",
                "--server.runOnSave=false",
                "--browser.gatherUsageStats=false",
                "--global.developmentMode=false",
                "--client.toolbarMode=minimal",
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=full_env,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited ({proc.returncode}):\n{log_path.read_text()[-3000:]}")
            try:
                if urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not become healthy:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.1)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def server(e2e_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _require_browser()
    log_path = tmp_path_factory.mktemp("server") / "streamlit.log"
    SERVER_LOGS.append(log_path)
    with streamlit_server({"CED_DATABASE_URL": e2e_db_url, "CED_TEST_HOOKS": "1"}, log_path) as url:
        yield url


@pytest.fixture(scope="session")
def browser(server: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


class App:
    """A page plus the run watcher: `goto` and `rerun` return once Streamlit has finished and the DOM is idle."""

    def __init__(self, page, base_url: str) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self._fm = ForwardMsg
        self.page = page
        self.base_url = base_url
        self.finished = 0
        self.errors: list[str] = []
        page.on("websocket", self._on_ws)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)

    def _on_ws(self, ws) -> None:
        if "/_stcore/stream" not in ws.url:
            return
        self.finished = 0
        ws.on("framereceived", self._on_frame)

    def _on_frame(self, payload) -> None:
        if isinstance(payload, str):
            return
        m = self._fm()
        m.ParseFromString(payload)
        if (
            m.WhichOneof("type") == "script_finished"
            and m.script_finished != self._fm.FINISHED_EARLY_FOR_RERUN
        ):
            self.finished += 1

    def wait_idle(self) -> None:
        self.page.wait_for_function(
            """() => { const a = document.querySelector('[data-testid=stApp]');
                 return a && a.dataset.testConnectionState === 'CONNECTED'
                   && ['notRunning', 'compilationError'].includes(a.dataset.testScriptState)
                   && !document.querySelector('[data-stale=true]'); }""",
            timeout=30_000,
        )

    def _wait_runs(self, before: int, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while self.finished <= before:
            if time.monotonic() > deadline:
                raise TimeoutError("Streamlit run did not finish")
            self.page.wait_for_timeout(20)
        self.wait_idle()

    def goto(self, path: str = "/") -> None:
        self.finished = 0
        self.page.goto(self.base_url + path)
        self._wait_runs(0)

    def rerun(self, action: Callable[[], object]) -> None:
        before = self.finished
        action()
        self._wait_runs(before)

    def shot(self, name: str, full_page: bool = True) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=path, full_page=full_page)
        return path


@pytest.fixture
def app_factory(browser, server):
    contexts = []

    def make(width: int = 1400, height: int = 900, **ctx_kwargs) -> App:
        ctx = browser.new_context(base_url=server, viewport={"width": width, "height": height}, **ctx_kwargs)
        ctx.route(LOOPBACK_ONLY, lambda route: route.abort())
        ctx.set_default_timeout(30_000)
        contexts.append(ctx)
        return App(ctx.new_page(), server)

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def app(app_factory) -> App:
    return app_factory()
