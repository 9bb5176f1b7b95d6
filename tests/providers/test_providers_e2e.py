"""Every provider end to end: through /compute and through the direct endpoint, over sockets."""

import io
import json
from typing import Any

import httpx
import pytest
from PIL import Image
from standins.engine import EngineStandIn
from standins.fixtures import TOKEN, Start, service_task, wait_for_report
from standins.providers import ProvidersStandIn
from standins.servers import UvicornThread

FLUX = "black-forest-labs/FLUX.1-dev"

# provider, its model id on the Hub mapping, the router route for api_url, model beside it
PROVIDERS: list[tuple[str, str, str, str | None]] = [
    ("hf-inference", "stabilityai/sd3", "/hf-inference/models/stabilityai/sd3", None),
    ("fal-ai", "fal-ai/flux/dev", "/fal-ai/fal-ai/flux/dev", None),
    (
        "replicate",
        "black-forest-labs/flux-dev",
        "/replicate/v1/models/black-forest-labs/flux-dev/predictions",
        None,
    ),
    ("together", "black-forest-labs/FLUX.1-dev", "/together/v1/images/generations", FLUX),
    ("nscale", "stabilityai/sdxl", "/nscale/v1/images/generations", "stabilityai/sdxl"),
    ("wavespeed", "wavespeed-ai/flux-dev", "/wavespeed/api/v3/wavespeed-ai/flux-dev", None),
    ("zai-org", "glm-image", "/zai-org/api/paas/v4/async/images/generations", "glm-image"),
    (
        "deepinfra",
        "black-forest-labs/FLUX-1-schnell",
        "/deepinfra/v1/openai/images/generations",
        "black-forest-labs/FLUX-1-schnell",
    ),
]
FAILURES = {
    "hf-inference": "is not served at this URL (404)",
    "fal-ai": "refused the request (422)",
    "replicate": "could not generate the image: NSFW content detected",
    "together": "model not available",
    "nscale": "model not available",
    "wavespeed": "content policy violation",
    "zai-org": "generation failed",
    "deepinfra": "model not available",
}
IDS = [case[0] for case in PROVIDERS]


def map_model(providers: ProvidersStandIn, provider: str, provider_model: str) -> None:
    providers.mappings[FLUX] = {
        provider: {"providerId": provider_model, "task": "text-to-image", "status": "live"}
    }


def assert_png(data: bytes) -> None:
    picture = Image.open(io.BytesIO(data))
    assert (picture.format, picture.size) == ("PNG", (64, 64))


@pytest.mark.parametrize(("provider", "provider_model", "route", "model"), PROVIDERS, ids=IDS)
def test_provider_through_compute(
    start_with_providers: Start,
    engine: EngineStandIn,
    providers: ProvidersStandIn,
    provider: str,
    provider_model: str,
    route: str,
    model: str | None,
) -> None:
    service = start_with_providers()
    map_model(providers, provider, provider_model)
    task = service_task(
        engine, model=FLUX, provider=provider, parameters={"width": 64, "height": 64}
    )
    httpx.post(f"{service.url}/compute", json=task)
    report = wait_for_report(engine, task["task"]["id"])
    assert report["status"] == "finished", report
    assert_png(httpx.get(f"{engine.public_url}/storage/{report['data_out'][0]}").content)
    [post] = providers.posts(f"/{provider}/")
    assert post.headers["authorization"] == f"Bearer {TOKEN}"
    assert "a_field_from_a_newer_engine" not in post.body.decode()
    downloads = [call for call in providers.calls if call.path.startswith("/cdn/")]
    assert all("authorization" not in call.headers for call in downloads)


def post_direct(service: UvicornThread, description: dict[str, Any]) -> httpx.Response:
    files = {
        "json_description": (
            "d.json",
            json.dumps({"api_token": TOKEN, **description}).encode(),
            "application/json",
        ),
        "input_text": ("p.txt", b"a red fox", "text/plain"),
    }
    return httpx.post(
        f"{service.url}/process", files=files, headers={"Accept": "application/json"}, timeout=30
    )


@pytest.mark.parametrize(("provider", "provider_model", "route", "model"), PROVIDERS, ids=IDS)
def test_provider_through_direct_endpoint_with_router_url(
    start_with_providers: Start,
    providers: ProvidersStandIn,
    provider: str,
    provider_model: str,
    route: str,
    model: str | None,
) -> None:
    service = start_with_providers()
    description: dict[str, Any] = {"api_url": f"{providers.url}{route}"}
    if model:
        description["model"] = model
    answer = post_direct(service, description)
    assert answer.status_code == 200, answer.text
    assert answer.json()["provider"] == provider
    assert answer.json()["model"] == provider_model
    assert providers.hub_lookups == 0


@pytest.mark.parametrize(("provider", "provider_model", "route", "model"), PROVIDERS, ids=IDS)
def test_provider_failure_reports_its_message(
    start_with_providers: Start,
    engine: EngineStandIn,
    providers: ProvidersStandIn,
    provider: str,
    provider_model: str,
    route: str,
    model: str | None,
) -> None:
    service = start_with_providers()
    map_model(providers, provider, provider_model)
    providers.fail.add(provider)
    task = service_task(engine, model=FLUX, provider=provider)
    httpx.post(f"{service.url}/compute", json=task)
    report = wait_for_report(engine, task["task"]["id"])
    assert report["status"] == "error"
    assert FAILURES[provider] in report["error_message"]
    assert TOKEN not in report["error_message"]


def test_auto_takes_the_first_live_provider_and_caches_the_mapping(
    start_with_providers: Start, engine: EngineStandIn, providers: ProvidersStandIn
) -> None:
    service = start_with_providers()
    providers.mappings[FLUX] = {
        "fal-ai": {"providerId": "fal-ai/flux/dev", "task": "text-to-image", "status": "error"},
        "together": {"providerId": FLUX, "task": "text-to-image", "status": "live"},
        "replicate": {
            "providerId": "black-forest-labs/flux-dev",
            "task": "text-to-image",
            "status": "live",
        },
    }
    tasks = [service_task(engine, model=FLUX) for _ in range(2)]
    for task in tasks:
        httpx.post(f"{service.url}/compute", json=task)
        assert wait_for_report(engine, task["task"]["id"])["status"] == "finished"
    assert len(providers.posts("/together/")) == 2
    assert providers.posts("/fal-ai/") == []
    assert providers.hub_lookups == 1


@pytest.mark.parametrize(
    ("mapping", "phrase"),
    [
        ({}, f"No inference provider serves {FLUX} for text-to-image"),
        (None, f"The model {FLUX} does not exist on the Hugging Face Hub"),
    ],
)
def test_model_no_provider_serves_is_a_clear_error(
    start_with_providers: Start, providers: ProvidersStandIn, mapping: Any, phrase: str
) -> None:
    service = start_with_providers()
    if mapping is not None:
        providers.mappings[FLUX] = mapping
    answer = post_direct(service, {"model": FLUX})
    assert answer.status_code == 400
    assert phrase in answer.json()["detail"]


def test_image_on_a_host_off_the_cdn_list_is_not_downloaded(
    start_with_providers: Start, providers: ProvidersStandIn
) -> None:
    service = start_with_providers(
        outbound_allowed_hosts=["127.0.0.1"], provider_cdn_hosts=["fal.media"]
    )
    providers.cdn_base = providers.url.replace("127.0.0.1", "localhost")
    answer = post_direct(service, {"api_url": f"{providers.url}/fal-ai/fal-ai/flux/dev"})
    assert answer.status_code == 502
    detail = answer.json()["detail"]
    assert detail.startswith("The provider's image cannot be downloaded: the provider's image URL")
    assert "localhost" in detail
    assert "set in PROVIDER_CDN_HOSTS or OUTBOUND_ALLOWED_HOSTS)." in detail
    assert [call for call in providers.calls if call.path.startswith("/cdn/")] == []


def test_job_that_never_finishes_ends_at_the_deadline(
    start_with_providers: Start, engine: EngineStandIn, providers: ProvidersStandIn
) -> None:
    service = start_with_providers(hf_retry_deadline=0.5)
    providers.polls_before_done = 10**6
    map_model(providers, "wavespeed", "wavespeed-ai/flux-dev")
    task = service_task(engine, model=FLUX, provider="wavespeed")
    httpx.post(f"{service.url}/compute", json=task)
    report = wait_for_report(engine, task["task"]["id"])
    assert report["status"] == "error"
    assert "did not deliver the image within 0.5 seconds" in report["error_message"]
