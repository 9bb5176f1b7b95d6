"""`auto` hands over to the next live provider when one is down; X-HF-Bill-To on router calls."""

from typing import Any

import httpx
import pytest
from standins.fixtures import Start
from standins.providers import ProvidersStandIn
from standins.servers import bind_loopback

from .test_providers_e2e import FLUX, post_direct

LIVE = "live"


def mapping(*providers: tuple[str, str, str]) -> dict[str, Any]:
    return {
        name: {"providerId": provider_model, "task": "text-to-image", "status": status}
        for name, provider_model, status in providers
    }


THREE = mapping(
    ("fal-ai", "fal-ai/flux/dev", LIVE),
    ("replicate", "black-forest-labs/flux-dev", "staging"),
    ("together", FLUX, LIVE),
)


@pytest.mark.parametrize("outage", [503, 500, 502])
def test_auto_fails_over_to_the_next_live_provider(
    start_with_providers: Start, providers: ProvidersStandIn, outage: int
) -> None:
    service = start_with_providers(hf_max_attempts=2)
    providers.mappings[FLUX] = THREE
    providers.down["fal-ai"] = outage

    answer = post_direct(service, {"model": FLUX, "provider": "auto"})

    assert answer.status_code == 200, answer.text
    assert answer.json()["provider"] == "together"
    assert answer.headers["x-provider"] == "together"
    assert len(providers.posts("/fal-ai/")) == 2  # its own retries first
    assert providers.posts("/replicate/") == []  # staging: skipped
    assert len(providers.posts("/together/")) == 1


def test_auto_fails_over_on_a_timeout(
    start_with_providers: Start, providers: ProvidersStandIn
) -> None:
    service = start_with_providers(hf_read_timeout=0.3)
    providers.mappings[FLUX] = THREE
    providers.down["fal-ai"] = "hang"

    answer = post_direct(service, {"model": FLUX})

    assert answer.status_code == 200, answer.text
    assert answer.json()["provider"] == "together"


def test_auto_fails_over_when_the_provider_cannot_be_reached(
    start_with_providers: Start, providers: ProvidersStandIn
) -> None:
    closed = bind_loopback()  # a port nobody serves: connections are refused
    port = closed.getsockname()[1]
    closed.close()
    # hf-inference goes to HF_MODEL_BASE_URL: the closed port.
    service = start_with_providers(
        hf_max_attempts=1, hf_model_base_url=f"http://127.0.0.1:{port}/hf-inference/models/"
    )
    providers.mappings[FLUX] = {
        "hf-inference": {"providerId": "org/sd", "task": "text-to-image", "status": LIVE},
        **THREE,
    }

    answer = post_direct(service, {"model": FLUX})

    assert answer.status_code == 200, answer.text
    assert answer.json()["provider"] == "fal-ai"


def test_a_refusal_is_not_handed_over(
    start_with_providers: Start, providers: ProvidersStandIn
) -> None:
    service = start_with_providers()
    providers.mappings[FLUX] = THREE
    providers.fail.add("fal-ai")  # a 422: the request is wrong, another provider will not help

    answer = post_direct(service, {"model": FLUX})

    assert answer.status_code == 502
    assert "refused the request (422)" in answer.json()["detail"]
    assert providers.posts("/together/") == []


def test_the_last_live_providers_failure_is_the_answer(
    start_with_providers: Start, providers: ProvidersStandIn
) -> None:
    service = start_with_providers(hf_max_attempts=1)
    providers.mappings[FLUX] = THREE
    providers.down.update({"fal-ai": 503, "together": 500})

    answer = post_direct(service, {"model": FLUX})

    assert answer.status_code in (502, 503)
    assert "unavailable" in answer.json()["detail"]
    assert len(providers.posts("/together/")) == 1


def test_a_named_provider_is_not_handed_over(
    start_with_providers: Start, providers: ProvidersStandIn
) -> None:
    service = start_with_providers(hf_max_attempts=1)
    providers.mappings[FLUX] = THREE
    providers.down["fal-ai"] = 503

    answer = post_direct(service, {"model": FLUX, "provider": "fal-ai"})

    assert answer.status_code == 503
    assert providers.posts("/together/") == []


def test_no_live_provider_is_a_clear_error(
    start_with_providers: Start, providers: ProvidersStandIn
) -> None:
    service = start_with_providers()
    providers.mappings[FLUX] = mapping(("fal-ai", "fal-ai/flux/dev", "staging"))

    answer = post_direct(service, {"model": FLUX})

    assert answer.status_code == 502
    assert "live now: fal-ai (staging)" in answer.json()["detail"]
    assert providers.posts("/fal-ai/") == []


def test_bill_to_goes_on_router_calls(
    start_with_providers: Start, providers: ProvidersStandIn
) -> None:
    service = start_with_providers(hf_bill_to="operator-org")
    providers.mappings[FLUX] = THREE

    asked = post_direct(service, {"model": FLUX, "bill_to": "my-org"})
    default = post_direct(service, {"api_url": f"{providers.url}/fal-ai/fal-ai/flux/dev"})

    assert (asked.status_code, default.status_code) == (200, 200)
    first, second = providers.posts("/fal-ai/")
    assert first.headers["x-hf-bill-to"] == "my-org"
    assert second.headers["x-hf-bill-to"] == "operator-org"


def test_bill_to_is_not_sent_off_the_router(
    start_with_providers: Start, providers: ProvidersStandIn
) -> None:
    service = start_with_providers(
        hf_bill_to="operator-org", hf_router_url="https://router.example"
    )
    # The stand-in now plays an Inference Endpoint: a URL that is not the router's.
    answer = post_direct(service, {"api_url": f"{providers.url}/hf-inference/models/org/sd"})

    assert answer.status_code == 200, answer.text
    [call] = providers.posts("/hf-inference/")
    assert "x-hf-bill-to" not in call.headers


def test_bill_to_must_be_an_organisation_name(
    start_with_providers: Start, providers: ProvidersStandIn
) -> None:
    service = start_with_providers()
    answer = post_direct(service, {"model": FLUX, "bill_to": "my org\r\nX-Evil: 1"})
    assert answer.status_code == 400
    assert "bill_to" in answer.json()["detail"]


def test_openai_endpoint_takes_bill_to(
    start_with_providers: Start, providers: ProvidersStandIn
) -> None:
    service = start_with_providers()
    providers.mappings[FLUX] = THREE
    answer = httpx.post(
        f"{service.url}/v1/images/generations",
        json={"model": FLUX, "prompt": "a fox", "bill_to": "my-org"},
        headers={"Authorization": "Bearer hf_OpenAiBillTo0123456789"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"][0]["provider"] == "fal-ai"
    [call] = providers.posts("/fal-ai/")
    assert call.headers["x-hf-bill-to"] == "my-org"
