"""together: OpenAI-style images/generations, `steps` for `num_inference_steps`; base64 back."""

from typing import Any

from .base import (
    Adapter,
    BodyInput,
    ProviderDocs,
    generations_reader,
    no_model_in_route,
)


def body(given: BodyInput) -> dict[str, Any]:
    parameters = dict(given.parameters)
    if "num_inference_steps" in parameters:
        parameters["steps"] = parameters.pop("num_inference_steps")
    return {
        "prompt": given.prompt,
        "response_format": "base64",
        "model": given.provider_model,
        **parameters,
    }


ADAPTER = Adapter(
    name="together",
    route=lambda _: "/v1/images/generations",
    model_from_route=no_model_in_route,
    body=body,
    read=generations_reader("together"),
    cdn_hosts=("*.together.ai", "*.together.xyz"),
    docs=ProviderDocs(
        route="`/together/v1/images/generations`",
        parameters="all; `num_inference_steps` as `steps`",
        answer="`data[0].b64_json`",
    ),
)
