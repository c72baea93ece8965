"""The SSRF guard (SPEC §8.3, ADR 0080), pure over a resolver: which URLs an endpoint may have and
which addresses a delivery may connect to.

Outside the local stages a URL is `https`, without userinfo, and every address its host stands for
(an IP literal, or each address its name resolves to) is global unicast. An address carrying an
IPv4 address (IPv4-mapped, IPv4-compatible, 6to4, Teredo, NAT64) is judged by that IPv4 address.
Locally `http` is allowed to localhost only, and no address is refused.

`check_url` runs at create/update time (no connection); `resolve_target` at every attempt: the
worker connects to the address it returns, so DNS cannot swap it between check and connect.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from meterplex.platform.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) → the addresses it resolves to (strings); OSError when it does not resolve
Resolver = Callable[[str, int], Sequence[str]]

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
MAX_URL_LENGTH = 2048
NAT64 = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
# Not "global" for our purpose though Python's `is_global` may say so for some of them.
REFUSED_V4 = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",  # CGNAT (shared address space)
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, the instance metadata service
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
)


class UrlNotAllowed(InvalidInput):
    default_code = "WEBHOOK_URL_NOT_ALLOWED"


@dataclass(frozen=True)
class Target:
    """Where one attempt connects: the URL's parts and the address that was checked."""

    scheme: str
    host: str  # as in the URL (TLS server name, Host header)
    port: int
    path: str  # path and query, as sent
    address: str


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries, if it is one of the forms that do."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64 or address in NAT64_LOCAL:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    packed = int(address)
    if packed >> 32 == 0 and packed > 1:  # IPv4-compatible ::a.b.c.d (deprecated)
        return ipaddress.IPv4Address(packed)
    return None


def is_public(address: IPAddress) -> bool:
    """A global unicast address: the only kind a delivery may reach outside the local stages."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            return is_public(inner)
        if address.scope_id:
            return False
        return address.is_global and not address.is_multicast
    if any(address in network for network in REFUSED_V4):
        return False
    return address.is_global and not address.is_multicast


def _parts(url: str) -> tuple[str, str, int, str]:
    if len(url) > MAX_URL_LENGTH:
        raise UrlNotAllowed(f"The URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UrlNotAllowed(f"The URL is not valid: {error}") from error
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UrlNotAllowed("The URL must be https")
    if parts.username is not None or parts.password is not None:
        raise UrlNotAllowed("The URL may not carry a user name or password")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise UrlNotAllowed("The URL has no host")
    if parts.fragment:
        raise UrlNotAllowed("The URL may not have a fragment")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, host, port or (443 if scheme == "https" else 80), path


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_url(url: str, *, local: bool, resolve: Resolver | None = None) -> None:
    """400 `WEBHOOK_URL_NOT_ALLOWED` unless an endpoint may have `url` in this stage. With a
    resolver (create/update time), a host name is resolved and every address checked."""
    scheme, host, port, _ = _parts(url)
    if local:
        if scheme == "http" and host not in LOCAL_HOSTS:
            raise UrlNotAllowed("In the local stage http is allowed to localhost only; use https")
        return
    if scheme != "https":
        raise UrlNotAllowed("The URL must be https")
    literal = _literal(host)
    if literal is not None:
        _require_public([literal], host)
        return
    if host == "localhost" or host.endswith(".localhost"):
        raise UrlNotAllowed("The URL's host is a loopback name")
    if resolve is not None:
        _require_public(_resolved(resolve, host, port), host)


def _resolved(resolve: Resolver, host: str, port: int) -> list[IPAddress]:
    try:
        answers = list(resolve(host, port))
    except OSError as error:
        raise UrlNotAllowed(f"The URL's host {host!r} does not resolve") from error
    addresses = [a for a in (_literal(answer.split("%", 1)[0]) for answer in answers) if a is not None]
    if not addresses:
        raise UrlNotAllowed(f"The URL's host {host!r} does not resolve")
    return addresses


def _require_public(addresses: Sequence[IPAddress], host: str) -> None:
    refused = sorted({str(a) for a in addresses if not is_public(a)})
    if refused:
        raise UrlNotAllowed(
            f"The URL's host {host!r} is a private, loopback, link-local or reserved address "
            f"({', '.join(refused)}): webhooks go to public addresses only"
        )


def resolve_target(url: str, *, local: bool, resolve: Resolver) -> Target:
    """Where an attempt connects: the URL checked again and its host resolved now, every address
    public (outside the local stages); the first address is the one to connect to."""
    check_url(url, local=local)
    scheme, host, port, path = _parts(url)
    literal = _literal(host)
    addresses = [literal] if literal is not None else _resolved(resolve, host, port)
    if not local:
        _require_public(addresses, host)
    return Target(scheme, host, port, path, str(addresses[0]))


def system_resolver(host: str, port: int) -> list[str]:
    """The platform's DNS (getaddrinfo), every address it answers."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))
