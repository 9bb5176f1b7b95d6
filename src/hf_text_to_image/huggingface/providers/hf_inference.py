"""hf-inference (and dedicated endpoints): `{"inputs", "parameters"}`; image bytes or base64 back."""

from typing import Any

from ..decoding import extract_image
from .base import Adapter, BodyInput, ImageData, Outcome, ProviderDocs, model_after


def body(given: BodyInput) -> dict[str, Any]:
    """`{"inputs": prompt, "parameters": {...}}`, or the parameters beside `inputs` when flat."""
    if given.flat_parameters:
        return {**given.parameters, "inputs": given.prompt}
    return {"inputs": given.prompt, "parameters": given.parameters}


def read(answer: bytes, _: str) -> Outcome:
    return ImageData(extract_image(answer))


ADAPTER = Adapter(
    name="hf-inference",
    route=lambda model: f"/models/{model}",
    model_from_route=model_after("models/"),
    body=body,
    read=read,
    docs=ProviderDocs(
        route="`/hf-inference/models/{model}`",
        parameters="all, under `parameters` (or flat)",
        answer="image bytes (often JPEG) or base64 JSON",
    ),
)
