"""A real `streamlit run` server: peak memory after loading every page, and the first page's time.

- Peak RSS: one server (the app's normal entry) on the scale's database; headless Chromium opens
  every page at every benchmark filter (a fresh browser session per filter, the way different
  users arrive), waiting each time until Streamlit has finished the run; then the server
  process's VmHWM (peak resident set) and VmRSS are read from /proc/PID/status.
- First page: a fresh server is started; once its health endpoint answers, the clock starts at
  the browser's goto("/") and stops when the Overview's first KPI tile is visible. Median of a
  few server starts. Also reported: when the frontend connected (the browser's share), and a
  second visit in a new browser session on the now warm server (the floor without start-up costs). Done for app.py, and for serve.py when it exists (it imports and warms the
  database in the server's lifespan hook, before the first browser arrives).

Chromium is Debian's /usr/bin/chromium launched by Playwright, as in tests/e2e/conftest.py.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode
from urllib.request import urlopen

from bench.data import ROOT

CHROMIUM = os.environ.get("CED_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FIRST_KPI = '[data-testid="stMetric"]'


@dataclass
class ServerResult:
    entry: str
    healthy_s: list[float] = field(default_factory=list)  # process start → health endpoint answers
    first_page_s: list[float] = field(default_factory=list)  # goto → first KPI visible
    connected_s: list[float] = field(default_factory=list)  # goto → app connected (frontend loaded)
    second_visit_s: list[float] = field(
        default_factory=list
    )  # same, a new browser session on the warm server
    vm_hwm_mb: float | None = None
    vm_rss_mb: float | None = None
    pages_loaded: int = 0
    errors: list[str] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vm_status(pid: int) -> dict[str, float]:
    """VmHWM / VmRSS of a process in MB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            out[key] = int(rest.split()[0]) / 1024
    return out


@contextmanager
def server(entry: str, db_url: str) -> Iterator[tuple[str, subprocess.Popen, float]]:
    """A streamlit server on a free port: (base url, process, seconds until healthy)."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CED_DATABASE_URL": db_url, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    log = tempfile.TemporaryFile()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            entry,
            "--server.headless=true",
            "--server.address=127.0.0.1",
            f"--server.port={port}",
            "--server.fileWatcherType=none",
            "--browser.gatherUsageStats=false",
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"streamlit exited ({proc.returncode}): {log.read()[-2000:]!r}")
            try:
                if urlopen(f"{base}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("streamlit did not become healthy in 120 s")
            time.sleep(0.02)
        yield base, proc, time.perf_counter() - t0
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        log.close()


@contextmanager
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def page_url(base: str, path: str, query: dict[str, object]) -> str:
    slug = "" if path == "pages/overview.py" else Path(path).stem
    return f"{base}/{slug}" + (f"?{urlencode(query, doseq=True)}" if query else "")


def _wait_finished(page: object, timeout_ms: int = 180_000) -> None:
    """Until the app is connected, not running, and nothing is stale (as tests/e2e's App.wait_idle)."""
    page.wait_for_function(  # type: ignore[attr-defined]
        """() => { const a = document.querySelector('[data-testid=stApp]');
             return a && a.dataset.testConnectionState === 'CONNECTED'
               && ['notRunning', 'compilationError'].includes(a.dataset.testScriptState)
               && !document.querySelector('[data-stale=true]')
               && !document.querySelector('[data-testid=stSkeleton]'); }""",
        timeout=timeout_ms,
    )


def first_page(entry: str, db_url: str, starts: int) -> ServerResult:
    res = ServerResult(entry)
    with browser() as b:
        for _ in range(starts):
            with server(entry, db_url) as (base, _proc, healthy):
                res.healthy_s.append(healthy)
                for visit in (res.first_page_s, res.second_visit_s):
                    ctx = b.new_context(viewport={"width": 1400, "height": 900})
                    page = ctx.new_page()
                    try:
                        t0 = time.perf_counter()
                        page.goto(base + "/", wait_until="commit")
                        page.wait_for_function(
                            "() => document.querySelector('[data-testid=stApp]')?.dataset.testConnectionState"
                            " === 'CONNECTED'",
                            timeout=180_000,
                        )
                        if visit is res.first_page_s:
                            res.connected_s.append(time.perf_counter() - t0)
                        page.locator(FIRST_KPI).first.wait_for(state="visible", timeout=180_000)
                        visit.append(time.perf_counter() - t0)
                    except Exception as exc:  # noqa: BLE001 - reported, not hidden
                        res.errors.append(f"first page: {exc}"[:300])
                    finally:
                        ctx.close()
    return res


def peak_memory(entry: str, db_url: str, pages: list[str], filters: dict[str, dict]) -> ServerResult:
    res = ServerResult(entry)
    with server(entry, db_url) as (base, proc, healthy), browser() as b:
        res.healthy_s.append(healthy)
        for _name, query in filters.items():
            ctx = b.new_context(viewport={"width": 1400, "height": 900})
            page = ctx.new_page()
            try:
                for path in pages:
                    page.goto(page_url(base, path, query))
                    page.wait_for_timeout(300)  # let the run start before waiting for its end
                    _wait_finished(page)
                    res.pages_loaded += 1
            except Exception as exc:  # noqa: BLE001 - reported, not hidden
                res.errors.append(f"{path}: {exc}"[:300])
            finally:
                ctx.close()
        vm = vm_status(proc.pid)
        res.vm_hwm_mb, res.vm_rss_mb = vm.get("VmHWM"), vm.get("VmRSS")
    return res


def median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None
