"""deepinfra: OpenAI-compatible images/generations under `/v1/openai`; `data[0].b64_json` back.

As the JS client sends it (`providers/deepinfra.ts`, DeepInfraTextToImageTask): the
parameters flat and in the service's names, then `response_format`, `prompt` and `model`
last, so that no parameter overrides them.
"""

from typing import Any

from .base import Adapter, BodyInput, ProviderDocs, generations_reader, no_model_in_route


def body(given: BodyInput) -> dict[str, Any]:
    return {
        **given.parameters,
        "response_format": "b64_json",
        "prompt": given.prompt,
        "model": given.provider_model,
    }


ADAPTER = Adapter(
    name="deepinfra",
    route=lambda _: "/v1/openai/images/generations",
    model_from_route=no_model_in_route,
    body=body,
    read=generations_reader("deepinfra"),
    cdn_hosts=("*.deepinfra.com",),
    docs=ProviderDocs(
        route="`/deepinfra/v1/openai/images/generations`",
        parameters="all, as they are named here",
        answer="`data[0].b64_json`",
    ),
)
