"""A shared server must not leak secrets or files: checked against the launched app over HTTP."""

from __future__ import annotations

import tempfile
from pathlib import Path

import httpx
import pytest
from conftest import launch_app, stop_app

from playground.settings import PROJECT_DIR

PASSWORD = "s3cret-Workshop-pass"
OPERATOR_KEY = "sk-operator-test-key-0123456789abcdef"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def protected_app():
    proc, url, log_path = launch_app("--auth", f"teacher:{PASSWORD}", env={"OPENAI_API_KEY": OPERATOR_KEY})
    yield url, log_path
    stop_app(proc)


def logged_in(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30, follow_redirects=True)
    response = client.post("/login", data={"username": "teacher", "password": PASSWORD})
    assert response.status_code == 200, response.text
    return client


def test_auth_is_required(protected_app):
    url, _ = protected_app
    with httpx.Client(base_url=url, timeout=30) as anonymous:
        assert anonymous.get("/config").status_code == 401
        wrong = anonymous.post("/login", data={"username": "teacher", "password": "wrong"})
        assert wrong.status_code == 400


def test_the_app_works_behind_auth(protected_app):
    from gradio_client import Client

    url, _ = protected_app
    client = Client(url, auth=("teacher", PASSWORD), verbose=False)
    assert client.predict("hello", "o200k_base", api_name="/tokenize")["ids"] == [24912]


def test_secrets_appear_nowhere(protected_app):
    url, log_path = protected_app
    client = logged_in(url)
    try:
        bodies = [client.get(path).text for path in ("/", "/config", "/gradio_api/info", "/gradio_api/openapi.json")]
    finally:
        client.close()
    bodies.append(log_path.read_text(errors="replace"))
    for body in bodies:
        assert PASSWORD not in body and OPERATOR_KEY not in body


@pytest.mark.parametrize("path", [
    "/etc/passwd", "../../../../etc/passwd", "..%2F..%2F..%2Fetc%2Fpasswd",
    str(PROJECT_DIR / "app.py"), str(PROJECT_DIR / ".env"), str(PROJECT_DIR / ".cache" / "prices" / "SOURCE"),
])
def test_files_outside_the_app_are_refused(app_url, path):
    with httpx.Client(base_url=app_url, timeout=30) as client:
        response = client.get(f"/gradio_api/file={path}")
    assert response.status_code in (403, 404), (path, response.status_code)
    assert "root:" not in response.text and "build_demo" not in response.text


def test_an_upload_named_with_a_path_traversal_stays_in_the_temp_area(app_url):
    marker = "playground-traversal-probe.txt"
    with httpx.Client(base_url=app_url, timeout=30) as client:
        response = client.post("/gradio_api/upload",
                               files={"files": (f"../../../../tmp/{marker}", b"hello", "text/plain")})
    assert response.status_code == 200, response.text
    (stored,) = response.json()
    stored_path = Path(stored).resolve()
    assert stored_path.name == marker
    assert stored_path.parent != Path("/tmp")  # not where the name pointed
    assert Path(tempfile.gettempdir()).resolve() in stored_path.parents or "gradio" in str(stored_path)
    assert not (Path("/tmp") / marker).exists()
