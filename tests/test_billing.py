"""X-HF-Bill-To: the caller's organisation, else the operator's, and only on router calls."""

import httpx

from hf_text_to_image.billing import bill_to_for
from hf_text_to_image.huggingface.payloads import build_headers

ROUTER = "https://router.huggingface.co"


def test_router_calls_carry_the_callers_then_the_operators_organisation() -> None:
    url = httpx.URL(f"{ROUTER}/fal-ai/fal-ai/flux/dev")
    assert bill_to_for(url, ROUTER, "my-org", "operator-org") == "my-org"
    assert bill_to_for(url, ROUTER, None, "operator-org") == "operator-org"
    assert bill_to_for(url, ROUTER, None, None) is None


def test_other_hosts_get_no_bill_to() -> None:
    endpoint = httpx.URL("https://abc.us-east-1.aws.endpoints.huggingface.cloud/")
    assert bill_to_for(endpoint, ROUTER, "my-org", "operator-org") is None
    other_port = httpx.URL("https://router.huggingface.co:8443/fal-ai/x")
    assert bill_to_for(other_port, ROUTER, "my-org", None) is None


def test_header_only_when_set() -> None:
    assert build_headers("hf_x", use_cache=True, bill_to="my-org")["X-HF-Bill-To"] == "my-org"
    assert "X-HF-Bill-To" not in build_headers("hf_x", use_cache=True)
