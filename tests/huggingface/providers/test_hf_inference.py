"""hf-inference: its exact request and its reading of the answer."""

import pytest
from conftest import make_image

from hf_text_to_image.errors import UpstreamFormatError
from hf_text_to_image.huggingface.providers import ADAPTERS, ImageData, hf_inference
from hf_text_to_image.huggingface.providers.base import BodyInput

from .provider_cases import MODEL_BASE, PARAMETERS, assert_request


def test_request() -> None:
    assert_request(
        "hf-inference",
        "stabilityai/sd3",
        f"{MODEL_BASE}stabilityai/sd3",
        {"inputs": "a fox", "parameters": PARAMETERS},
    )


def test_flat_body_keeps_the_prompt_over_an_inputs_parameter() -> None:
    given = BodyInput("the prompt", {"inputs": "not the prompt", "seed": 1}, "m", True)
    assert hf_inference.body(given) == {"inputs": "the prompt", "seed": 1}


def test_read_image_bytes() -> None:
    jpeg = make_image("JPEG")
    assert ADAPTERS["hf-inference"].read(jpeg, "") == ImageData(jpeg)
    with pytest.raises(UpstreamFormatError):
        ADAPTERS["hf-inference"].read(b"", "")


def test_model_from_route() -> None:
    assert hf_inference.ADAPTER.model_from_route("models/org/name") == "org/name"
    assert hf_inference.ADAPTER.model_from_route("v1/other") is None
