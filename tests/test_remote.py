"""playground.remote: where a call goes, which addresses an exposed app refuses, what errors say.

Addresses are classified as literals, without any connection. Every request in this file goes to
127.0.0.1 / ::1 (the loopback fake server), including the ones that are expected to be refused.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace

import pytest
from fake_openai_server import FakeOpenAI

from playground.chat.backends import BackendConfig, resolve_connection
from playground.chat.turn import TurnOptions, drain, run_turn
from playground.errors import InvalidInput, NotAllowed
from playground.remote.addresses import GuardedBackend, refusal
from playground.remote.client import guarded, openai_client
from playground.remote.connection import check_base_url
from playground.remote.connection import resolve_connection as remote_connection
from playground.remote.errors import BackendError, BlockedAddress
from playground.settings import Settings

KEY = "sk-visitor-7f3a9c1e5b2d4f6a8c0e"
OPERATOR_KEY = "sk-operator-0b1d2f3a4c5e6a7b8c9d"

# (literal, refused without --allow-private-base-urls, refused with it)
LITERALS = [
    ("127.0.0.1", "loopback", "loopback"), ("127.255.0.9", "loopback", "loopback"), ("::1", "loopback", "loopback"),
    ("::ffff:127.0.0.1", "loopback", "loopback"), ("2002:7f00:1::", "loopback", "loopback"),  # 6to4 of 127.0.0.1
    ("64:ff9b::7f00:1", "loopback", "loopback"),  # NAT64 of 127.0.0.1
    ("10.1.2.3", "private", None), ("172.16.0.1", "private", None), ("192.168.1.10", "private", None),
    ("fd12:3456::1", "private", None), ("100.64.0.1", "private", None), ("::ffff:192.168.0.1", "private", None),
    ("169.254.169.254", "link-local", "link-local"), ("fe80::1", "link-local", "link-local"),
    ("fd00:ec2::254", "cloud metadata", "cloud metadata"), ("100.100.100.200", "cloud metadata", "cloud metadata"),
    ("168.63.129.16", "cloud metadata", "cloud metadata"),
    ("0.0.0.0", "unspecified", "unspecified"), ("::", "unspecified", "unspecified"),
    ("224.0.0.1", "multicast", "multicast"), ("ff02::1", "multicast", "multicast"),
    ("240.0.0.1", "reserved", "reserved"), ("255.255.255.255", "reserved", "reserved"),
    ("fec0::1", "reserved", "reserved"),
    ("192.0.2.1", "non-public", "non-public"), ("198.18.0.1", "non-public", "non-public"),
    ("2001:db8::1", "non-public", "non-public"),
    ("8.8.8.8", None, None), ("1.1.1.1", None, None), ("2606:4700:4700::1111", None, None),
]


@pytest.mark.parametrize(("literal", "strict", "lan"), LITERALS)
def test_addresses_are_classified_without_connecting(literal, strict, lan):
    ip = ipaddress.ip_address(literal)
    for allow_private, expected in ((False, strict), (True, lan)):
        reason = refusal(ip, allow_private)
        assert (reason is None) == (expected is None), (literal, allow_private, reason)
        if expected:
            assert expected in reason


@pytest.fixture(scope="module")
def server():
    with FakeOpenAI(sleep_s=2.0) as fake:
        yield fake


@pytest.fixture
def fake(server):
    server.reset()
    yield server
    server.reset()


@pytest.fixture
def exposed(settings) -> Settings:
    """An app reachable by strangers that lets visitors type base URLs (public ones)."""
    return replace(settings, exposed=True, allow_custom_base_url=True)


def spellings(port: int) -> list[str]:
    """Six ways to write this machine's loopback in a URL (the issue's list)."""
    return [f"http://{host}:{port}/v1" for host in
            ("127.0.0.1", "localhost", "127.1", "2130706433", "0x7f000001", "[::ffff:127.0.0.1]")]


def test_an_exposed_app_refuses_typed_urls_to_its_own_machine_however_spelled(fake, exposed):
    port = int(fake.base_url.rsplit(":", 1)[1].split("/")[0])
    for url in spellings(port):
        config = BackendConfig.of("compatible", "m", url, KEY)
        with pytest.raises(BlockedAddress, match="loopback"):
            drain(run_turn([], "Hello", TurnOptions(), config, exposed))
    assert fake.requests == []  # nothing reached the private server


def test_the_check_is_on_the_resolved_address_not_the_string(monkeypatch):
    """DNS rebinding: a public-looking name that resolves to loopback is refused at connect time."""
    import socket

    real = socket.getaddrinfo

    def rebinding(host, *args, **kwargs):
        if host == "innocent.example":
            return real("127.0.0.1", *args, **kwargs)
        raise AssertionError(f"no other lookup expected, got {host!r}")

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with pytest.raises(BlockedAddress, match="loopback"):
        GuardedBackend().connect_tcp("innocent.example", 80)


def test_any_refused_address_among_several_refuses_the_name(monkeypatch):
    import socket

    def two(host, port, *args, **kwargs):  # a public and a private answer for one name: no connection at all
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.8.8", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port))]

    monkeypatch.setattr(socket, "getaddrinfo", two)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: pytest.fail("must not connect"))
    with pytest.raises(BlockedAddress, match="private"):
        GuardedBackend().connect_tcp("split.example", 443)


def test_loopback_is_fine_when_the_app_is_not_exposed(fake, settings):
    local = replace(settings, exposed=False, allow_custom_base_url=None)
    assert local.allow_custom_base_url
    config = BackendConfig.of("compatible", "m", fake.base_url.replace("127.0.0.1", "127.1"), KEY)
    assert drain(run_turn([], "Hello", TurnOptions(), config, local)).reply == "You said: Hello"


def test_the_operators_own_base_url_is_trusted_on_an_exposed_app(fake, exposed):
    operator = replace(exposed, openai_api_key=OPERATOR_KEY, openai_base_url=fake.base_url,
                       allow_custom_base_url=False)
    connection = resolve_connection(BackendConfig.of("openai", "gpt-4o-mini"), operator)
    assert not connection.typed_url and not guarded(connection, operator)
    assert drain(run_turn([], "Hello", TurnOptions(), BackendConfig.of("openai", "gpt-4o-mini"), operator)).reply
    assert fake.requests[-1]["headers"]["authorization"] == f"Bearer {OPERATOR_KEY}"


def test_typed_base_urls_are_off_by_default_when_exposed(fake, settings):
    shared = replace(settings, exposed=True, allow_custom_base_url=None, allow_custom_models=None)
    assert not shared.allow_custom_base_url and not shared.allow_custom_models
    with pytest.raises(NotAllowed, match="typed base URLs are off"):
        resolve_connection(BackendConfig.of("compatible", "m", fake.base_url, KEY), shared)


def test_org_and_project_ids_go_only_to_the_operators_url(fake, settings, monkeypatch):
    monkeypatch.setenv("OPENAI_ORG_ID", "org-operator-123")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-operator-456")
    operator = replace(settings, openai_api_key=OPERATOR_KEY, openai_base_url=fake.base_url)
    drain(run_turn([], "Hello", TurnOptions(), BackendConfig.of("openai", "gpt-4o-mini"), operator))
    headers = fake.requests[-1]["headers"]
    assert headers["openai-organization"] == "org-operator-123" and headers["openai-project"] == "proj-operator-456"
    # The same server typed under another spelling is the visitor's URL: no operator ids, no operator key.
    typed = BackendConfig.of("compatible", "m", fake.base_url.replace("127.0.0.1", "localhost"), KEY)
    drain(run_turn([], "Hello", TurnOptions(), typed, operator))
    headers = fake.requests[-1]["headers"]
    assert "openai-organization" not in headers and "openai-project" not in headers
    assert headers["authorization"] == f"Bearer {KEY}"


def test_a_typed_servers_error_shows_only_status_and_error_message(fake, settings):
    fast = replace(settings, chat_timeout_s=2)
    config = BackendConfig.of("compatible", "m", fake.base_url, KEY)
    fake.fail("leaky", times=2)
    with pytest.raises(BackendError) as info:
        drain(run_turn([], "Hello", TurnOptions(), config, fast))
    assert "502" in str(info.value) and "internal-secret" not in str(info.value)
    fake.fail("429", times=2)
    with pytest.raises(BackendError) as info:
        drain(run_turn([], "Hello", TurnOptions(), config, fast))
    assert "(429)" in str(info.value) and "Server said: Rate limit reached for requests" in str(info.value)


def test_openai_client_closes_and_carries_no_operator_key_to_typed_urls(fake, settings):
    connection = remote_connection(fake.base_url, None, replace(settings, openai_api_key=OPERATOR_KEY),
                                   openai_default=False, needs_key=False)
    assert connection.typed_url and connection.api_key != OPERATOR_KEY
    client = openai_client(connection, settings, timeout=5)
    try:
        assert [m.id for m in client.models.list()] == ["fake-model"]
    finally:
        client.close()


@pytest.mark.parametrize("url", ["", "ftp://x/v1", "http://", "http://h:notaport/v1", "http://a b/v1",
                                 "http://user:pw@h/v1", "http://h/\x00", "x" * 600])
def test_bad_base_urls_are_refused_with_a_message(url):
    with pytest.raises(InvalidInput):
        check_base_url(url)


def test_host_0_0_0_0_computes_exposed_without_binding():
    s = Settings.from_args(["--host", "0.0.0.0"], environ={})
    assert s.is_exposed and not s.allow_custom_models and not s.allow_custom_base_url
    assert not Settings.from_args([], environ={}).is_exposed
    assert Settings.from_args(["--share"], environ={}).is_exposed
    assert Settings.from_args(["--host", "::1"], environ={}).allow_custom_models
    on = Settings.from_args(["--host", "0.0.0.0", "--allow-custom-models", "--allow-private-base-urls"], environ={})
    assert on.allow_custom_models and not on.allow_custom_base_url and on.allow_private_base_urls
    space = Settings.from_env({"SPACE_ID": "someone/playground", "PLAYGROUND_ALLOW_CUSTOM_BASE_URL": "true"})
    assert space.is_exposed and space.allow_custom_base_url and not space.allow_custom_models
    assert not Settings.from_args(["--exposed"], environ={}).allow_custom_models
