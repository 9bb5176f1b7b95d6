"""The outbound guard: which URLs the service may connect to on a caller's behalf."""

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

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


LOOPBACK_HOST_NAMES = ("localhost", "localhost.")
LOOPBACK_HINT = (
    " For a server on this machine, set ALLOW_LOOPBACK_UPSTREAMS=true (development only)."
)


def is_loopback_host(host: str) -> bool:
    """`localhost`, or a literal loopback address (no DNS)."""
    address = parse_ip(host)
    return address.is_loopback if address is not None else host.lower() in LOOPBACK_HOST_NAMES


@dataclass(frozen=True)
class OutboundPolicy:
    """Schemes, host names and non-public networks that outbound calls may use."""

    allowed_schemes: tuple[str, ...]
    allowed_hosts: tuple[str, ...]
    allowed_networks: tuple[IPNetwork, ...]
    # ALLOW_LOOPBACK_UPSTREAMS: http or https to this machine, whatever the lists say.
    allows_loopback: bool = False
    # The setting that lists `allowed_hosts`, named in refusals.
    hosts_setting: str = "OUTBOUND_ALLOWED_HOSTS"

    @classmethod
    def from_settings(cls, settings: Settings) -> "OutboundPolicy":
        return cls(
            allowed_schemes=tuple(settings.outbound_allowed_schemes),
            allowed_hosts=tuple(settings.outbound_allowed_hosts),
            allowed_networks=tuple(settings.outbound_allowed_networks),
            allows_loopback=settings.allow_loopback_upstreams,
        )

    @classmethod
    def for_downloads(cls, settings: Settings) -> "OutboundPolicy":
        """Image downloads: the providers' CDN hosts besides the hosts `api_url` may use."""
        policy = cls.from_settings(settings)
        hosts = (*settings.provider_cdn_hosts, *settings.outbound_allowed_hosts)
        return replace(
            policy,
            allowed_hosts=hosts,
            hosts_setting="PROVIDER_CDN_HOSTS or OUTBOUND_ALLOWED_HOSTS",
        )

    def admits_address(self, address: IPAddress) -> bool:
        """Public addresses always; loopback, private, link-local and the like only if listed."""
        if address.is_global or (self.allows_loopback and address.is_loopback):
            return True
        return any(address in network for network in self.allowed_networks)

    def refuse_address(self, address: IPAddress, where: str) -> ForbiddenTargetError:
        """The refusal of a non-public address, naming the settings that would admit it."""
        hint = LOOPBACK_HINT if address.is_loopback else ""
        return ForbiddenTargetError(
            f"{where} a non-public address ({address}); list its network in "
            f"OUTBOUND_ALLOWED_NETWORKS to allow it.{hint}"
        )

    def check_shape(self, url: httpx.URL, *, field: str) -> None:
        """Refuse a URL by its scheme and host alone (no DNS)."""
        loopback = bool(url.host) and is_loopback_host(url.host)
        if loopback and self.allows_loopback and url.scheme in ("http", "https"):
            return
        hint = LOOPBACK_HINT if loopback else ""
        if url.scheme not in self.allowed_schemes:
            allowed = ", ".join(f"{scheme}://" for scheme in self.allowed_schemes)
            lifted = hint if url.scheme in ("http", "https") else ""
            raise ForbiddenTargetError(
                f"{field} is a {url.scheme}:// URL; the allowed schemes are {allowed} "
                f"(OUTBOUND_ALLOWED_SCHEMES).{lifted}"
            )
        if not url.host:
            raise ForbiddenTargetError(f"{field} has no host name.")
        if not host_matches(url.host, self.allowed_hosts):
            raise ForbiddenTargetError(
                f"{field} points at {url.host}, which is not an allowed host "
                f"(allowed: {', '.join(self.allowed_hosts)}; set in {self.hosts_setting}).{hint}"
            )
        address = parse_ip(url.host)
        if address is not None and not self.admits_address(address):
            raise self.refuse_address(address, f"{field} points at")


class OutboundGuard:
    """Checks a URL against the policy, including every address its host name resolves to.

    An early check, for a refusal that names the field before any request is built; what is
    enforced is the same policy at connect time (`transport.GuardedResolver`).
    """

    def __init__(
        self,
        policy: OutboundPolicy,
        resolver: Resolver = resolve_with_system,
        *,
        lookup_timeout: float = 10.0,
    ) -> None:
        self._policy = policy
        self._resolve = resolver
        self._lookup_timeout = lookup_timeout

    async def check(self, url: httpx.URL, *, field: str) -> None:
        """Raise ForbiddenTargetError unless the service may connect to `url`."""
        self._policy.check_shape(url, field=field)
        if parse_ip(url.host) is not None:
            return
        try:
            async with asyncio.timeout(self._lookup_timeout):
                addresses = await self._resolve(url.host, url.port or 443)
        except OSError as error:  # TimeoutError included
            raise UpstreamError(f"{field}: the host {url.host} could not be resolved.") from error
        for text in addresses:
            address = ipaddress.ip_address(text.split("%")[0])
            if not self._policy.admits_address(address):
                raise self._policy.refuse_address(address, f"{field}: {url.host} resolves to")


@dataclass(frozen=True)
class ConnectPolicy:
    """Which addresses a connection may use, checked on the very addresses it connects to.

    The hosts the operator named (the engines and their object stores) may be anywhere, a
    cluster's private addresses included; any other host only where `addresses` admits it
    (public addresses, OUTBOUND_ALLOWED_NETWORKS, loopback with ALLOW_LOOPBACK_UPSTREAMS).
    """

    addresses: OutboundPolicy
    named_hosts: frozenset[str]

    @classmethod
    def from_settings(cls, settings: Settings, named_hosts: frozenset[str]) -> "ConnectPolicy":
        return cls(OutboundPolicy.from_settings(settings), named_hosts)

    def admits(self, host: str, address: IPAddress) -> bool:
        return host.lower().rstrip(".") in self.named_hosts or self.addresses.admits_address(
            address
        )

    def check(self, host: str, address: IPAddress) -> None:
        """Raise ForbiddenTargetError unless a connection to `host` may use `address`."""
        if not self.admits(host, address):
            raise self.addresses.refuse_address(address, f"{host} resolves to")
