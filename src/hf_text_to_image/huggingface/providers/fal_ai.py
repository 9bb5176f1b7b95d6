"""fal-ai: `{"prompt", ...}` with `image_size` for width and height; JSON `images[0].url` back."""

from typing import Any

from .base import (
    Adapter,
    BodyInput,
    Outcome,
    ProviderDocs,
    first,
    link_or_data,
    mapping,
    model_after,
    parse_json_answer,
)


def body(given: BodyInput) -> dict[str, Any]:
    parameters = dict(given.parameters)
    width, height = parameters.pop("width", None), parameters.pop("height", None)
    if width and height:
        parameters["image_size"] = {"width": width, "height": height}
    return {"prompt": given.prompt, **parameters}


def read(answer: bytes, _: str) -> Outcome:
    images = mapping(parse_json_answer(answer, "fal-ai"), "images").get("images")
    return link_or_data(mapping(first(images, "image"), "image").get("url"))


ADAPTER = Adapter(
    name="fal-ai",
    route=lambda model: f"/{model}",
    model_from_route=model_after(""),
    body=body,
    read=read,
    cdn_hosts=("fal.media", "*.fal.media", "*.fal.run"),
    docs=ProviderDocs(
        route="`/fal-ai/{providerId}`",
        parameters="all; `width`+`height` as `image_size`",
        answer="JSON `images[0].url`, downloaded",
    ),
)
