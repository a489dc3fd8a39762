"""Where webhooks may go, in every environment: public addresses only, unless the operator allows
a network with GROUPBUY_WEBHOOK_ALLOWED_NETWORKS (comma-separated CIDRs, e.g. 127.0.0.0/8 for a
receiver on this host).

Refused: loopback, private, shared (100.64/10), link-local, multicast, unspecified and reserved
addresses, v4 and v6, IPv4 embedded in v6 (mapped, 6to4, NAT64) judged as the IPv4 address.
Host names: `localhost` and `*.localhost` are loopback (127.0.0.1 or ::1, whichever is allowed,
without a lookup); single-label names (`postgres`) and the
suffixes of internal networks (`.internal`, `.local`, `.svc`, ...) are refused outright, because
they name the service's own network. Other names are resolved when a webhook is sent (not when
the subscription is created): every address must pass, and the client connects to the address
that was checked (service/notify/http.py), so a name cannot be re-resolved elsewhere.

Literal hosts are read the way the C library reads them (inet_aton: `127.1`, `0x7f000001`,
`0177.0.0.1`, `2130706433`, `0`), after IDNA mapping (`127。0。0。1`, full-width digits), so no
spelling of an internal address passes as a name. Plain http is allowed only to an allowed network.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from service.config import get_settings, parse_networks

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

REFUSED = "refused by policy"
FAILED = "failed"

# RFC 6761/6762 and de-facto names of private networks and cluster DNS.
INTERNAL_SUFFIXES = ("localhost", "local", "localdomain", "internal", "intranet", "private", "corp", "home",
                     "lan", "arpa", "svc", "cluster")
_LOOPBACK_NAMES = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_INET_ATON = re.compile(r"[0-9a-fA-FxX.]+")


class Refused(Exception):
    """The policy refuses this host or address."""


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_v4(ip)
        if inner is not None:
            return is_public(inner)
        if ip.is_site_local:
            return False
    if ip.is_multicast or ip.is_unspecified or ip.is_loopback or ip.is_link_local or ip.is_reserved:
        return False
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return False
    return ip.is_global


def normalise_host(host: str) -> str:
    """Lower case, IDNA (ASCII), without brackets or one trailing dot; ValueError when not valid."""
    h = host.strip().lower()
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    if not h.isascii():
        try:
            h = h.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError("not a valid host name") from None
    return h[:-1] if h.endswith(".") and not h.endswith("..") else h


def literal_address(host: str) -> IPAddress | None:
    """The address a normalised host spells, read as getaddrinfo would, or None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _INET_ATON.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def internal_name(host: str) -> bool:
    """A name of the service's own network: single-label, or under an internal suffix."""
    labels = host.split(".")
    return len(labels) < 2 or labels[-1] in INTERNAL_SUFFIXES or (
        len(labels) >= 2 and ".".join(labels[-2:]) in ("home.arpa", "cluster.local"))


@dataclass(frozen=True)
class Policy:
    allowed: tuple[IPNetwork, ...] = ()

    def explicitly_allowed(self, ip: IPAddress) -> bool:
        candidates: list[IPAddress] = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and (inner := _embedded_v4(ip)) is not None:
            candidates.append(inner)
        return any(c.version == net.version and c in net for c in candidates for net in self.allowed)

    def permits(self, ip: IPAddress, *, plain_http: bool = False) -> bool:
        """https: a public address or an allowed network's; plain http: an allowed network's only."""
        if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
            ip = ipaddress.IPv6Address(ip.compressed.split("%")[0])
        if self.explicitly_allowed(ip):
            return True
        return not plain_http and is_public(ip)

    def check_host(self, host: str, *, plain_http: bool = False) -> list[IPAddress] | None:
        """Raises Refused for a host refused without resolving it; returns the addresses of a
        literal (or localhost) host, or None for a name to resolve at send time."""
        if host == "localhost" or host.endswith(".localhost"):
            # Loopback by definition (RFC 6761): not resolved; the loopback addresses allowed, if any.
            allowed = [ip for ip in _LOOPBACK_NAMES if self.permits(ip, plain_http=plain_http)]
            if not allowed:
                raise Refused(host)
            return allowed
        literal = literal_address(host)
        if literal is None:
            if internal_name(host):
                raise Refused(host)
            return None
        self.check_addresses([literal], plain_http=plain_http)
        return [literal]

    def check_addresses(self, addresses: Iterable[IPAddress], *, plain_http: bool = False) -> None:
        found = list(addresses)
        if not found or not all(self.permits(ip, plain_http=plain_http) for ip in found):
            raise Refused(", ".join(map(str, found)))


@lru_cache(maxsize=8)
def _policy_of(text: str) -> Policy:
    return Policy(parse_networks(text))


def current_policy() -> Policy:
    return _policy_of(get_settings().webhook_allowed_networks)
