"""The OpenAI-compatible endpoint, driven by the real `openai` SDK over a loopback socket."""

import base64
import io
import json
from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest
from PIL import Image
from standins.hf_api import Answer, HuggingFaceStandIn

from hf_text_to_image.access import hash_api_key

TOKEN = "hf_OpenAiCallerToken0123456789"
OPERATOR_TOKEN = "hf_OperatorOwnToken0123456789"
API_KEY = "operator-key-for-the-team"
MODEL = "stabilityai/sd3-medium"


def client(url: str, api_key: str = TOKEN) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=api_key, max_retries=0, timeout=30)


def open_png(b64: str) -> Image.Image:
    picture = Image.open(io.BytesIO(base64.b64decode(b64)))
    assert picture.format == "PNG"
    return picture


def test_sdk_gets_n_images_with_their_seeds(
    start_direct: Callable[..., str], hf: HuggingFaceStandIn
) -> None:
    url = start_direct()

    result = client(url).images.generate(
        model=MODEL,
        prompt="A lighthouse, Zürich 夜",
        n=3,
        size="512x768",
        response_format="b64_json",
        extra_body={
            "seed": 40,
            "negative_prompt": "blurry",
            "num_inference_steps": 20,
            "guidance_scale": 6.5,
        },
    )

    assert len(result.data) == 3
    seeds = [datum.model_extra["seed"] for datum in result.data]  # type: ignore[index]
    assert seeds == [40, 41, 42]
    assert {datum.model_extra["provider"] for datum in result.data} == {"hf-inference"}  # type: ignore[index]
    assert result.created > 0
    for datum, seed in zip(result.data, seeds, strict=True):
        assert datum.b64_json is not None
        picture = open_png(datum.b64_json)
        assert picture.info["parameters"] == (
            "A lighthouse, Zürich 夜\nNegative prompt: blurry\n"
            f"Steps: 20, CFG scale: 6.5, Seed: {seed}, Size: 64x64, Model: {MODEL}"
        )
    bodies = sorted(
        (json.loads(request.body) for request in hf.requests),
        key=lambda body: body["parameters"]["seed"],
    )
    assert [body["parameters"] for body in bodies] == [
        {
            "guidance_scale": 6.5,
            "negative_prompt": "blurry",
            "num_inference_steps": 20,
            "seed": seed,
            "width": 512,
            "height": 768,
        }
        for seed in (40, 41, 42)
    ]
    assert {request.headers["authorization"] for request in hf.requests} == {f"Bearer {TOKEN}"}


def test_raw_answer_has_openai_shape_and_seed_header(
    start_direct: Callable[..., str], hf: HuggingFaceStandIn
) -> None:
    url = start_direct()
    raw = client(url).images.with_raw_response.generate(model=MODEL, prompt="a fox")

    seed = json.loads(hf.requests[0].body)["parameters"]["seed"]
    assert raw.headers["x-seed"] == str(seed)
    assert raw.headers["x-provider"] == "hf-inference"
    body = json.loads(raw.content)
    assert set(body) == {"created", "data", "model", "output_format", "size"}
    assert (body["output_format"], body["size"], body["model"]) == ("png", "64x64", MODEL)
    assert body["data"][0]["seed"] == seed


def test_upstream_refusal_comes_back_in_openai_error_shape(
    start_direct: Callable[..., str], hf: HuggingFaceStandIn
) -> None:
    url = start_direct()
    hf.answer_with(Answer(status=401, json_body={"error": "Invalid credentials in Authorization"}))

    with pytest.raises(openai.APIStatusError) as caught:
        client(url).images.generate(model=MODEL, prompt="a fox")

    error = caught.value
    assert error.status_code == 502
    assert isinstance(error.body, dict)
    assert error.body["type"] == "server_error"
    assert error.body["code"] == "upstream_error"
    assert "token" in error.body["message"]
    # The same sentence /process answers for the same refusal.
    hf.answer_with(Answer(status=401, json_body={"error": "Invalid credentials in Authorization"}))
    files = {
        "json_description": ("d", json.dumps({"api_token": TOKEN, "model": MODEL}), "a/j"),
        "input_text": ("p", b"a fox", "text/plain"),
    }
    direct = httpx.post(f"{url}/process", files=files, timeout=30)
    assert direct.json()["detail"] == error.body["message"]
    # Both counted by endpoint, provider and status; the provider named on the refusal too.
    assert direct.headers["x-provider"] == "hf-inference"
    metrics = httpx.get(f"{url}/metrics").text
    for endpoint in ("/v1/images/generations", "/process"):
        line = (
            f'direct_requests_total{{endpoint="{endpoint}",provider="hf-inference",status="502"}}'
        )
        assert f"{line} 1.0" in metrics, endpoint


def test_openai_style_calls_counted_by_status_and_provider(
    start_direct: Callable[..., str], hf: HuggingFaceStandIn
) -> None:
    url = start_direct(hf_token=OPERATOR_TOKEN)
    endpoint = "/v1/images/generations"

    client(url).images.generate(model=MODEL, prompt="a fox")
    with pytest.raises(openai.BadRequestError):
        client(url).images.generate(model=MODEL, prompt="a fox", size="8x8")
    # No credential at all, and HF_TOKEN not granted without an API key.
    anonymous = httpx.post(f"{url}{endpoint}", json={"model": MODEL, "prompt": "a fox"})
    assert anonymous.status_code == 401

    metrics = httpx.get(f"{url}/metrics").text
    for line in (
        f'direct_requests_total{{endpoint="{endpoint}",provider="hf-inference",status="200"}} 1.0',
        f'direct_requests_total{{endpoint="{endpoint}",provider="none",status="400"}} 1.0',
        f'direct_requests_total{{endpoint="{endpoint}",provider="none",status="401"}} 1.0',
        'upstream_requests_total{provider="hf-inference",status_code="200"} 1.0',
    ):
        assert line in metrics, line
    assert len(hf.requests) == 1


@pytest.mark.parametrize(
    ("arguments", "param", "code", "words"),
    [
        ({"response_format": "url"}, "response_format", "unsupported_value", "b64_json"),
        ({"output_format": "webp"}, "output_format", "unsupported_value", "PNG"),
        ({"size": "8x8"}, "size", "invalid_value", "from 64 to 4096"),
        ({"size": "big"}, "size", "invalid_value", "WIDTHxHEIGHT, such as 1024x1024"),
        ({"n": 11}, "n", "invalid_value", "less than or equal to 10"),
        ({"model": None}, "model", "missing_required_parameter", "Missing required parameter"),
        ({"prompt": "  "}, "prompt", "invalid_value", "prompt is empty"),
        ({"extra_body": {"seed": -1}}, "seed", "invalid_value", "greater than or equal to 0"),
        ({"extra_body": {"steps": 4}}, "steps", "unknown_parameter", "Unrecognized"),
        ({"extra_body": {"provider": "nope"}}, "provider", "invalid_value", "'auto'"),
    ],
)
def test_bad_parameters_are_400_naming_the_param(
    start_direct: Callable[..., str],
    hf: HuggingFaceStandIn,
    arguments: dict[str, Any],
    param: str,
    code: str,
    words: str,
) -> None:
    url = start_direct()
    call: dict[str, Any] = {"model": MODEL, "prompt": "a fox", **arguments}
    if call["model"] is None:
        del call["model"]

    with pytest.raises(openai.BadRequestError) as caught:
        client(url).images.generate(**call)

    body = caught.value.body
    assert isinstance(body, dict)
    assert (body["type"], body["param"], body["code"]) == ("invalid_request_error", param, code)
    assert words in body["message"]
    assert hf.requests == []


def test_placeholder_token_is_refused_before_any_call(
    start_direct: Callable[..., str], hf: HuggingFaceStandIn
) -> None:
    url = start_direct()

    with pytest.raises(openai.BadRequestError) as caught:
        client(url, api_key="hf_...").images.generate(model=MODEL, prompt="a fox")

    body = caught.value.body
    assert isinstance(body, dict)
    assert body["type"] == "invalid_request_error"
    assert "placeholder" in body["message"]
    assert "huggingface.co/settings/tokens" in body["message"]
    assert hf.requests == []


def test_operator_key_spends_the_operator_token(
    start_direct: Callable[..., str], hf: HuggingFaceStandIn
) -> None:
    url = start_direct(hf_token=OPERATOR_TOKEN, api_key_hashes=[hash_api_key(API_KEY)])

    result = client(url, api_key=API_KEY).images.generate(model=MODEL, prompt="a fox")

    assert result.data[0].b64_json
    assert hf.requests[0].headers["authorization"] == f"Bearer {OPERATOR_TOKEN}"


def test_several_images_hold_that_many_places(
    start_direct: Callable[..., str], hf: HuggingFaceStandIn
) -> None:
    url = start_direct(max_direct_requests=2)

    with pytest.raises(openai.BadRequestError) as caught:
        client(url).images.generate(model=MODEL, prompt="a fox", n=3)

    assert isinstance(caught.value.body, dict)
    assert "at most 2" in caught.value.body["message"]
    assert hf.requests == []


def test_body_over_the_limit_is_refused_unread(start_direct: Callable[..., str]) -> None:
    url = start_direct(max_prompt_length=10)
    response = httpx.post(
        f"{url}/v1/images/generations",
        json={"model": MODEL, "prompt": "x" * 100_000},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "request_too_large"


def test_not_json_is_refused_in_openai_shape(start_direct: Callable[..., str]) -> None:
    url = start_direct()
    response = httpx.post(
        f"{url}/v1/images/generations",
        content=b"{not json",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_swagger_shows_the_three_interfaces(start_direct: Callable[..., str]) -> None:
    schema = httpx.get(f"{start_direct()}/openapi.json").json()
    tags = {
        path: operation["tags"][0]
        for path, operations in schema["paths"].items()
        for operation in operations.values()
    }
    assert tags["/process"] == "Direct"
    assert tags["/v1/images/generations"] == "OpenAI-compatible"
    assert tags["/compute"] == "Engine"
    request = schema["components"]["schemas"]["ImagesRequest"]["properties"]
    assert {"model", "prompt", "n", "size", "seed", "negative_prompt", "bill_to"} <= set(request)
