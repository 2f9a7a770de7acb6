"""Which addresses a shared server may call for a visitor, checked on the address connected to.

`refusal(ip, allow_private)` classifies one literal address without any network. `GuardedBackend`
is an `httpcore2` network backend for the openai client's transport: it resolves the host itself,
refuses when *any* address it resolves to is refused (a name that also points at 127.0.0.1 is
not a public server), and connects to the checked address itself, so DNS rebinding cannot swap
it after the check. Odd spellings (`127.1`, `2130706433`, `0x7f000001`, `[::ffff:127.0.0.1]`)
resolve to the address they mean and are refused as that address.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterable

import httpcore2

from playground.remote.errors import BlockedAddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _nets(*cidrs: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


# What a teacher's LAN server may use with --allow-private-base-urls: RFC 1918, CGNAT, IPv6 ULA.
LAN = _nets("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # IPv4 embedded in the last 32 bits (RFC 6052)
# Cloud metadata services outside link-local (AWS IPv6, Alibaba, Azure's wire server): never.
METADATA = frozenset(map(ipaddress.ip_address, ("fd00:ec2::254", "100.100.100.200", "168.63.129.16")))


def refusal(ip: IPAddress, allow_private: bool = False) -> str | None:
    """Why a visitor-typed URL may not lead to `ip` ("loopback", "private …", …), or None if it may."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None) or (
            ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in NAT64 else None)
        if embedded is not None:
            return refusal(embedded, allow_private)
    checks = (
        ("cloud metadata", ip in METADATA), ("loopback", ip.is_loopback), ("unspecified", ip.is_unspecified),
        ("link-local (cloud metadata lives here)", ip.is_link_local), ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved or (ip.version == 6 and ip.is_site_local)),
    )
    for reason, hit in checks:
        if hit:
            return reason
    if any(ip.version == net.version and ip in net for net in LAN):
        return None if allow_private else "private (LAN: RFC 1918, IPv6 ULA, or shared CGNAT)"
    if not ip.is_global:  # documentation, benchmarking and protocol ranges
        return "non-public"
    return None


def resolve(host: str, port: int) -> list[tuple[int, IPAddress]]:
    """Every (family, address) `host` resolves to, as the system resolver says (no connection)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: dict[IPAddress, int] = {}
    for family, _type, _proto, _name, sockaddr in infos:
        seen.setdefault(ipaddress.ip_address(str(sockaddr[0]).split("%")[0]), family)
    return [(family, ip) for ip, family in seen.items()]


class GuardedBackend(httpcore2.NetworkBackend):
    """Connects only to addresses `refusal` allows (see the module docstring)."""

    def __init__(self, allow_private: bool = False) -> None:
        self._inner = httpcore2.SyncBackend()
        self.allow_private = allow_private

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None) -> httpcore2.NetworkStream:
        try:
            addresses = resolve(host, port)
        except OSError as exc:
            raise httpcore2.ConnectError(f"cannot resolve {host}: {exc}") from None
        for _family, ip in addresses:
            reason = refusal(ip, self.allow_private)
            if reason:
                raise BlockedAddress(host, reason)
        last: Exception | None = None
        for _family, ip in addresses:
            try:
                stream = self._inner.connect_tcp(str(ip), port, timeout, local_address, socket_options)
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                last = exc
                continue
            peer = ipaddress.ip_address(stream.get_extra_info("server_addr")[0].split("%")[0])
            if peer != ip or refusal(peer, self.allow_private):  # belt and braces: what we reached is what we checked
                stream.close()
                raise BlockedAddress(host, refusal(peer, self.allow_private) or "different")
            return stream
        raise last or httpcore2.ConnectError(f"no address for {host}")

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None) -> httpcore2.NetworkStream:
        raise BlockedAddress(path, "local socket")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
