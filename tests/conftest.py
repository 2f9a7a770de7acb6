"""Shared fixtures: offline settings, the launched app, and a headless Chromium page.

No test touches the network: settings are offline, the app is launched with --offline on a
loopback port, and the OpenAI-compatible server used by chat tests runs on loopback.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from playground.settings import PROJECT_DIR, Settings

ARTIFACTS = PROJECT_DIR / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

# Locally hypothesis explores new inputs on every run; in CI the same examples run every time,
# so a landing never depends on luck (bugs found locally get a regression test of their own).
hypothesis_settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


@pytest.fixture(scope="session")
def settings() -> Settings:
    s = Settings(offline=True)
    s.apply_to_process()
    return s


@pytest.fixture(autouse=True)
def _bugs_propagate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Handlers called directly in tests let unexpected exceptions through (see ui/common.py)."""
    monkeypatch.setenv("PLAYGROUND_RAISE_ERRORS", "1")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch_app(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> tuple[subprocess.Popen, str, Path]:
    """Start `python app.py --offline` as a user would; return the process, its URL and its log."""
    port = free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / f"app-{port}.log"
    full_env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})}
    full_env.pop("PLAYGROUND_RAISE_ERRORS", None)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, str(PROJECT_DIR / "app.py"), "--offline", "--port", str(port), *args],
            cwd=PROJECT_DIR, env=full_env, stdout=log, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError(f"app did not start within {timeout} s:\n{log_path.read_text()[-3000:]}")
    return proc, url, log_path


def stop_app(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def launched_app() -> Iterator[tuple[str, Path]]:
    """One app for the whole session: (url, log path)."""
    proc, url, log_path = launch_app()
    yield url, log_path
    stop_app(proc)


@pytest.fixture(scope="session")
def app_url(launched_app: tuple[str, Path]) -> str:
    return launched_app[0]


@pytest.fixture(scope="session")
def client(app_url: str):
    from gradio_client import Client

    return Client(app_url, verbose=False)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is not installed: `make test` installs it (scripts/install-chromium.sh).")
    with sync_playwright() as pw:
        instance = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser, app_url: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.goto(app_url, wait_until="domcontentloaded")
    yield pg
    context.close()


def screenshot(pg, name: str, *, expect_error: bool = False) -> Path:
    """Save a full-page screenshot; unless an error is the point of the test, none may be on screen."""
    if not expect_error:
        generic = pg.locator(".toast-body.error")
        assert generic.count() == 0, f"error shown in the page: {generic.first.inner_text()[:300]}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    pg.screenshot(path=str(path), full_page=True)
    return path
