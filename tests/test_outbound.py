"""The outbound guard: which URLs the service may connect to on a caller's behalf."""

import asyncio
import ipaddress
from collections.abc import Callable
from dataclasses import replace

import httpx
import pytest

from hf_text_to_image.config import DEFAULT_ALLOWED_HOSTS, Settings
from hf_text_to_image.errors import ForbiddenTargetError, UpstreamError
from hf_text_to_image.outbound import (
    OutboundGuard,
    OutboundPolicy,
    host_matches,
    parse_ip,
    resolve_with_system,
)

PUBLIC_ADDRESS = "93.184.216.34"
ROUTER_URL = httpx.URL("https://router.huggingface.co/hf-inference/models/org/model")

DEFAULT_POLICY = OutboundPolicy(
    allowed_schemes=("https",),
    allowed_hosts=tuple(DEFAULT_ALLOWED_HOSTS),
    allowed_networks=(),
)


class FakeResolver:
    """Answers fixed addresses (or raises) and records what it was asked."""

    def __init__(self, *addresses: str, error: OSError | None = None) -> None:
        self.addresses = list(addresses)
        self.error = error
        self.queries: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.queries.append((host, port))
        if self.error is not None:
            raise self.error
        return self.addresses


def policy_with(
    *,
    hosts: tuple[str, ...] = tuple(DEFAULT_ALLOWED_HOSTS),
    networks: tuple[str, ...] = (),
    schemes: tuple[str, ...] = ("https",),
) -> OutboundPolicy:
    return OutboundPolicy(
        allowed_schemes=schemes,
        allowed_hosts=hosts,
        allowed_networks=tuple(ipaddress.ip_network(network) for network in networks),
    )


# host_matches


@pytest.mark.parametrize(
    "host",
    [
        "huggingface.co",
        "HuggingFace.CO",
        "huggingface.co.",
        "router.huggingface.co",
        "a.b.huggingface.co",
        "xyz.us-east-1.aws.endpoints.huggingface.cloud",
        "someone-space.hf.space",
    ],
)
def test_host_matches_allowed(host: str) -> None:
    assert host_matches(host, DEFAULT_ALLOWED_HOSTS)


@pytest.mark.parametrize(
    "host",
    [
        "evilhuggingface.co",
        "huggingface.co.evil.com",
        "huggingface.com",
        "endpoints.huggingface.cloud",
        "huggingface.cloud",
        "hf.space",
        "example.com",
        "",
    ],
)
def test_host_matches_refused(host: str) -> None:
    assert not host_matches(host, DEFAULT_ALLOWED_HOSTS)


def test_host_matches_wildcard_needs_subdomain() -> None:
    assert not host_matches("example.org", ["*.example.org"])
    assert host_matches("api.example.org", ["*.example.org"])


def test_host_matches_pattern_case_and_dot_ignored() -> None:
    assert host_matches("api.example.org", ["*.Example.ORG."])
    assert host_matches("localhost", ["LOCALHOST"])


def test_host_matches_empty_patterns() -> None:
    assert not host_matches("huggingface.co", [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [("127.0.0.1", "127.0.0.1"), ("[::1]", "::1"), ("::1", "::1"), ("huggingface.co", None)],
)
def test_parse_ip(text: str, expected: str | None) -> None:
    address = parse_ip(text)

    assert (str(address) if address else None) == expected


# OutboundPolicy


def test_policy_from_settings(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(
        outbound_allowed_hosts=["example.org"],
        outbound_allowed_networks=["10.0.0.1/8"],
        outbound_allowed_schemes=["http", "https"],
    )

    policy = OutboundPolicy.from_settings(settings)

    assert policy.allowed_hosts == ("example.org",)
    assert policy.allowed_schemes == ("http", "https")
    assert policy.allowed_networks == (ipaddress.ip_network("10.0.0.0/8"),)


def test_policy_from_default_settings(make_settings: Callable[..., Settings]) -> None:
    policy = OutboundPolicy.from_settings(make_settings())

    assert policy == DEFAULT_POLICY


@pytest.mark.parametrize(
    "url",
    [
        "https://router.huggingface.co/hf-inference/models/org/model",
        "https://xyz.us-east-1.aws.endpoints.huggingface.cloud",
        "https://huggingface.co/api/models",
        "https://router.huggingface.co:8443/fal-ai/x",
    ],
)
def test_check_shape_admitted(url: str) -> None:
    DEFAULT_POLICY.check_shape(httpx.URL(url), field="api_url")


def test_check_shape_http_refused_by_default() -> None:
    with pytest.raises(ForbiddenTargetError) as caught:
        DEFAULT_POLICY.check_shape(httpx.URL("http://router.huggingface.co/x"), field="api_url")

    assert caught.value.message == (
        "api_url is a http:// URL; the allowed schemes are https:// (OUTBOUND_ALLOWED_SCHEMES)."
    )
    assert caught.value.http_status == 400


def test_check_shape_http_admitted_when_listed() -> None:
    policy = policy_with(schemes=("https", "http"))

    policy.check_shape(httpx.URL("http://router.huggingface.co/x"), field="api_url")


@pytest.mark.parametrize("url", ["ftp://huggingface.co/x", "file:///etc/passwd"])
def test_check_shape_other_scheme_refused(url: str) -> None:
    with pytest.raises(ForbiddenTargetError, match="the allowed schemes are https://") as caught:
        DEFAULT_POLICY.check_shape(httpx.URL(url), field="api_url")

    assert "ALLOW_LOOPBACK_UPSTREAMS" not in caught.value.message


def test_check_shape_file_url_names_every_allowed_scheme() -> None:
    policy = policy_with(schemes=("https", "http"))

    with pytest.raises(ForbiddenTargetError) as caught:
        policy.check_shape(httpx.URL("file:///etc/passwd"), field="api_url")

    assert caught.value.message == (
        "api_url is a file:// URL; the allowed schemes are https://, http:// "
        "(OUTBOUND_ALLOWED_SCHEMES)."
    )


def test_check_shape_host_not_listed_refused() -> None:
    with pytest.raises(ForbiddenTargetError) as caught:
        DEFAULT_POLICY.check_shape(httpx.URL("https://example.com/model"), field="api_url")

    message = caught.value.message
    assert message.startswith("api_url points at example.com, which is not an allowed host")
    assert "*.endpoints.huggingface.cloud" in message
    assert message.endswith("; set in OUTBOUND_ALLOWED_HOSTS).")


def test_check_shape_no_host_refused() -> None:
    with pytest.raises(ForbiddenTargetError, match="has no host name"):
        DEFAULT_POLICY.check_shape(httpx.URL("https:///path"), field="input_url")


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/x",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.1/x",
        "https://[::1]/x",
    ],
)
def test_check_shape_ip_literal_not_listed_refused(url: str) -> None:
    with pytest.raises(ForbiddenTargetError, match="not an allowed host"):
        DEFAULT_POLICY.check_shape(httpx.URL(url), field="api_url")


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("https://127.0.0.1/x", "127.0.0.1"),
        ("https://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("https://10.0.0.1/x", "10.0.0.1"),
        ("https://[::1]/x", "::1"),
    ],
)
def test_check_shape_non_public_ip_refused_even_if_host_listed(url: str, address: str) -> None:
    policy = policy_with(hosts=("127.0.0.1", "169.254.169.254", "10.0.0.1", "::1"))

    with pytest.raises(ForbiddenTargetError) as caught:
        policy.check_shape(httpx.URL(url), field="api_url")

    assert caught.value.message.startswith(
        f"api_url points at a non-public address ({address}); list its network in "
        "OUTBOUND_ALLOWED_NETWORKS to allow it."
    )
    loopback = ipaddress.ip_address(address).is_loopback
    assert ("ALLOW_LOOPBACK_UPSTREAMS=true" in caught.value.message) == loopback


@pytest.mark.parametrize(
    ("url", "network"),
    [
        ("https://127.0.0.1/x", "127.0.0.0/8"),
        ("https://10.0.0.1/x", "10.0.0.0/24"),
        ("https://[::1]/x", "::1/128"),
    ],
)
def test_check_shape_non_public_ip_admitted_when_network_listed(url: str, network: str) -> None:
    policy = policy_with(hosts=("127.0.0.1", "10.0.0.1", "::1"), networks=(network,))

    policy.check_shape(httpx.URL(url), field="api_url")


def test_check_shape_other_network_does_not_admit() -> None:
    policy = policy_with(hosts=("169.254.169.254",), networks=("127.0.0.0/8",))

    with pytest.raises(ForbiddenTargetError, match="non-public address"):
        policy.check_shape(httpx.URL("https://169.254.169.254/"), field="api_url")


@pytest.mark.parametrize(
    ("address", "admitted"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("10.0.0.5", False),
        ("172.16.3.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("127.0.0.1", False),
        ("0.0.0.0", False),  # noqa: S104
        ("100.64.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("::ffff:10.0.0.5", False),
    ],
)
def test_admits_address(address: str, admitted: bool) -> None:
    assert DEFAULT_POLICY.admits_address(ipaddress.ip_address(address)) is admitted


# OutboundGuard


@pytest.mark.anyio
async def test_guard_check_public_address_admitted() -> None:
    resolver = FakeResolver(PUBLIC_ADDRESS, "2606:2800:220:1:248:1893:25c8:1946")
    guard = OutboundGuard(DEFAULT_POLICY, resolver)

    await guard.check(ROUTER_URL, field="api_url")

    assert resolver.queries == [("router.huggingface.co", 443)]


@pytest.mark.anyio
async def test_guard_check_explicit_port_resolved() -> None:
    resolver = FakeResolver(PUBLIC_ADDRESS)
    guard = OutboundGuard(DEFAULT_POLICY, resolver)

    await guard.check(httpx.URL("https://router.huggingface.co:8443/x"), field="api_url")

    assert resolver.queries == [("router.huggingface.co", 8443)]


@pytest.mark.anyio
async def test_guard_check_private_resolution_refused() -> None:
    guard = OutboundGuard(DEFAULT_POLICY, FakeResolver("10.0.0.5"))

    with pytest.raises(ForbiddenTargetError) as caught:
        await guard.check(ROUTER_URL, field="api_url")

    assert caught.value.message == (
        "api_url: router.huggingface.co resolves to a non-public address (10.0.0.5); "
        "list its network in OUTBOUND_ALLOWED_NETWORKS to allow it."
    )


@pytest.mark.anyio
async def test_guard_check_any_private_address_refused() -> None:
    guard = OutboundGuard(DEFAULT_POLICY, FakeResolver(PUBLIC_ADDRESS, "169.254.169.254"))

    with pytest.raises(ForbiddenTargetError, match=r"non-public address \(169\.254\.169\.254\)"):
        await guard.check(ROUTER_URL, field="api_url")


@pytest.mark.anyio
async def test_guard_check_scoped_ipv6_refused() -> None:
    guard = OutboundGuard(DEFAULT_POLICY, FakeResolver("fe80::1%eth0"))

    with pytest.raises(ForbiddenTargetError, match=r"non-public address \(fe80::1\)"):
        await guard.check(ROUTER_URL, field="api_url")


@pytest.mark.anyio
async def test_guard_check_private_resolution_admitted_when_network_listed() -> None:
    policy = policy_with(networks=("10.0.0.0/8",))
    guard = OutboundGuard(policy, FakeResolver("10.0.0.5"))

    await guard.check(ROUTER_URL, field="api_url")


@pytest.mark.anyio
async def test_guard_check_resolver_error_is_upstream_error() -> None:
    resolver = FakeResolver(error=OSError(-2, "Name or service not known"))
    guard = OutboundGuard(DEFAULT_POLICY, resolver)

    with pytest.raises(UpstreamError) as caught:
        await guard.check(ROUTER_URL, field="api_url")

    assert not isinstance(caught.value, ForbiddenTargetError)
    assert caught.value.message == "api_url: the host router.huggingface.co could not be resolved."
    assert caught.value.http_status == 502


@pytest.mark.anyio
async def test_guard_check_shape_before_resolving() -> None:
    resolver = FakeResolver(PUBLIC_ADDRESS)
    guard = OutboundGuard(DEFAULT_POLICY, resolver)

    with pytest.raises(ForbiddenTargetError, match="not an allowed host"):
        await guard.check(httpx.URL("https://example.com/"), field="api_url")

    assert resolver.queries == []


@pytest.mark.anyio
async def test_guard_check_ip_literal_not_resolved() -> None:
    resolver = FakeResolver("10.0.0.5")
    guard = OutboundGuard(policy_with(hosts=(PUBLIC_ADDRESS,)), resolver)

    await guard.check(httpx.URL(f"https://{PUBLIC_ADDRESS}/x"), field="api_url")

    assert resolver.queries == []


@pytest.mark.anyio
async def test_resolve_with_system_literal_address() -> None:
    # A literal needs no DNS, so this stays offline.
    addresses = await resolve_with_system("127.0.0.1", 443)

    assert set(addresses) == {"127.0.0.1"}


# ALLOW_LOOPBACK_UPSTREAMS


LOOPBACK_URLS = [
    "http://127.0.0.1:9091/models/org/model",
    "https://127.0.0.2/x",
    "http://localhost:9091/x",
    "http://[::1]:9091/x",
]


@pytest.mark.parametrize("url", LOOPBACK_URLS)
def test_check_shape_loopback_refusal_names_the_setting(url: str) -> None:
    with pytest.raises(ForbiddenTargetError) as caught:
        DEFAULT_POLICY.check_shape(httpx.URL(url), field="api_url")

    assert caught.value.message.endswith(
        " For a server on this machine, set ALLOW_LOOPBACK_UPSTREAMS=true (development only)."
    )


@pytest.mark.parametrize("url", LOOPBACK_URLS)
def test_check_shape_loopback_admitted_with_the_setting(url: str) -> None:
    policy = replace(DEFAULT_POLICY, allows_loopback=True)

    policy.check_shape(httpx.URL(url), field="api_url")


@pytest.mark.parametrize(
    "url", ["http://10.0.0.1/x", "https://example.com/x", "file:///etc/passwd", "ftp://[::1]/x"]
)
def test_check_shape_loopback_setting_admits_nothing_else(url: str) -> None:
    policy = replace(DEFAULT_POLICY, allows_loopback=True)

    with pytest.raises(ForbiddenTargetError) as caught:
        policy.check_shape(httpx.URL(url), field="api_url")

    assert "ALLOW_LOOPBACK_UPSTREAMS" not in caught.value.message


def test_check_shape_http_to_a_listed_host_stays_refused_with_the_setting() -> None:
    policy = replace(DEFAULT_POLICY, allows_loopback=True)

    with pytest.raises(ForbiddenTargetError, match="allowed schemes"):
        policy.check_shape(httpx.URL("http://router.huggingface.co/x"), field="api_url")


@pytest.mark.anyio
async def test_guard_loopback_resolution_names_the_setting() -> None:
    guard = OutboundGuard(DEFAULT_POLICY, FakeResolver("127.0.0.1"))

    with pytest.raises(ForbiddenTargetError, match="ALLOW_LOOPBACK_UPSTREAMS=true"):
        await guard.check(ROUTER_URL, field="api_url")


@pytest.mark.anyio
async def test_guard_localhost_admitted_with_the_setting() -> None:
    resolver = FakeResolver("127.0.0.1", "::1")
    guard = OutboundGuard(replace(DEFAULT_POLICY, allows_loopback=True), resolver)

    await guard.check(httpx.URL("http://localhost:9091/models/x"), field="api_url")

    assert resolver.queries == [("localhost", 9091)]


def test_policy_loopback_setting_reaches_downloads(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(allow_loopback_upstreams=True)

    assert OutboundPolicy.from_settings(settings).allows_loopback
    downloads = OutboundPolicy.for_downloads(settings)
    assert downloads.allows_loopback
    assert downloads.hosts_setting == "PROVIDER_CDN_HOSTS or OUTBOUND_ALLOWED_HOSTS"


@pytest.mark.anyio
async def test_guard_look_up_that_hangs_ends_at_its_timeout() -> None:
    async def silent(host: str, port: int) -> list[str]:
        await asyncio.Event().wait()
        return []

    guard = OutboundGuard(DEFAULT_POLICY, silent, lookup_timeout=0.05)
    with pytest.raises(UpstreamError, match="could not be resolved"):
        await guard.check(httpx.URL("https://router.huggingface.co/x"), field="api_url")
