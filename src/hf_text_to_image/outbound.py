"""The outbound guard: which URLs the service may connect to on a caller's behalf."""

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import httpx

from .config import Settings
from .errors import ForbiddenTargetError, UpstreamError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def resolve_with_system(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host`, without blocking the event loop."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def host_matches(host: str, patterns: Sequence[str]) -> bool:
    """True when `host` equals a pattern, or is a subdomain of a `*.domain` pattern."""
    host = host.lower().rstrip(".")
    for pattern in patterns:
        pattern = pattern.lower().rstrip(".")
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]):
                return True
        elif host == pattern:
            return True
    return False


def parse_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


@dataclass(frozen=True)
class OutboundPolicy:
    """Schemes, host names and non-public networks that outbound calls may use."""

    allowed_schemes: tuple[str, ...]
    allowed_hosts: tuple[str, ...]
    allowed_networks: tuple[IPNetwork, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> "OutboundPolicy":
        return cls(
            allowed_schemes=tuple(settings.outbound_allowed_schemes),
            allowed_hosts=tuple(settings.outbound_allowed_hosts),
            allowed_networks=tuple(
                ipaddress.ip_network(network, strict=False)
                for network in settings.outbound_allowed_networks
            ),
        )

    @classmethod
    def for_downloads(cls, settings: Settings) -> "OutboundPolicy":
        """Image downloads: the providers' CDN hosts besides the hosts `api_url` may use."""
        policy = cls.from_settings(settings)
        hosts = (*settings.provider_cdn_hosts, *settings.outbound_allowed_hosts)
        return cls(policy.allowed_schemes, hosts, policy.allowed_networks)

    def admits_address(self, address: IPAddress) -> bool:
        """Public addresses always; loopback, private, link-local and the like only if listed."""
        if address.is_global:
            return True
        return any(address in network for network in self.allowed_networks)

    def check_shape(self, url: httpx.URL, *, field: str) -> None:
        """Refuse a URL by its scheme and host alone (no DNS)."""
        if url.scheme not in self.allowed_schemes:
            allowed = " or ".join(self.allowed_schemes)
            raise ForbiddenTargetError(f"{field} must be an {allowed} URL, not {url.scheme}://.")
        if not url.host:
            raise ForbiddenTargetError(f"{field} has no host name.")
        if not host_matches(url.host, self.allowed_hosts):
            raise ForbiddenTargetError(
                f"{field} points at {url.host}, which is not an allowed host "
                f"(allowed: {', '.join(self.allowed_hosts)})."
            )
        address = parse_ip(url.host)
        if address is not None and not self.admits_address(address):
            raise ForbiddenTargetError(f"{field} points at a non-public address ({address}).")


class OutboundGuard:
    """Checks a URL against the policy, including every address its host name resolves to."""

    def __init__(self, policy: OutboundPolicy, resolver: Resolver = resolve_with_system) -> None:
        self._policy = policy
        self._resolve = resolver

    async def check(self, url: httpx.URL, *, field: str) -> None:
        """Raise ForbiddenTargetError unless the service may connect to `url`."""
        self._policy.check_shape(url, field=field)
        if parse_ip(url.host) is not None:
            return
        try:
            addresses = await self._resolve(url.host, url.port or 443)
        except OSError as error:
            raise UpstreamError(f"{field}: the host {url.host} could not be resolved.") from error
        for text in addresses:
            address = ipaddress.ip_address(text.split("%")[0])
            if not self._policy.admits_address(address):
                raise ForbiddenTargetError(
                    f"{field}: {url.host} resolves to a non-public address ({address})."
                )
