"""nscale: OpenAI-style images/generations, `size: "WxH"`; `data[0].b64_json` back."""

from typing import Any

from .base import (
    KNOWN_PARAMETERS,
    Adapter,
    BodyInput,
    ProviderDocs,
    generations_reader,
    no_model_in_route,
    with_size,
)


def body(given: BodyInput) -> dict[str, Any]:
    head = {"response_format": "b64_json", "prompt": given.prompt, "model": given.provider_model}
    return with_size(head, given.parameters)


ADAPTER = Adapter(
    name="nscale",
    route=lambda _: "/v1/images/generations",
    model_from_route=no_model_in_route,
    body=body,
    read=generations_reader("nscale"),
    takes=KNOWN_PARAMETERS - {"num_inference_steps"},
    cdn_hosts=("*.nscale.com",),
    docs=ProviderDocs(
        route="`/nscale/v1/images/generations`",
        parameters='all but `num_inference_steps`; `width`+`height` as `size: "WxH"`',
        answer="`data[0].b64_json`",
    ),
)
