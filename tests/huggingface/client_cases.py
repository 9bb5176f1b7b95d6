"""What the client's tests share: the router's names, answers, fake time, a wired client."""

from collections.abc import Callable
from typing import Any

import httpx

from hf_text_to_image.access import TokenGrant
from hf_text_to_image.background import BackgroundThreads
from hf_text_to_image.config import Settings
from hf_text_to_image.huggingface.client import HuggingFaceClient, build_hf_client
from hf_text_to_image.inputs import JsonDescription
from hf_text_to_image.metrics import Metrics
from hf_text_to_image.outbound import OutboundGuard, OutboundPolicy
from hf_text_to_image.pacing import Pacing

TOKEN = "hf_SECRETtoken1234567890"
MODEL = "stabilityai/stable-diffusion-3-medium-diffusers"
ROUTER = "https://router.huggingface.co"
MODEL_PATH = f"/hf-inference/models/{MODEL}"
MODEL_URL = ROUTER + MODEL_PATH
LEGACY_URL = f"https://api-inference.huggingface.co/models/{MODEL}"
PUBLIC_ADDRESS = "93.184.216.34"
REQUEST_ID = "Root=1-67ab12cd-0123456789abcdef01234567"
# The callers here bring their own token: the operator's is not theirs to use.
NO_OPERATOR_TOKEN = TokenGrant(operator_token=None)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeSleep:
    """Records each delay and returns at once; advances a fake clock when given one."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.delays: list[float] = []
        self._clock = clock

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        if self._clock is not None:
            self._clock.now += delay


async def public_resolver(host: str, port: int) -> list[str]:
    return [PUBLIC_ADDRESS]


async def private_resolver(host: str, port: int) -> list[str]:
    return ["10.0.0.5"]


def describe(**fields: Any) -> JsonDescription:
    values: dict[str, Any] = {"api_token": TOKEN, "model": MODEL}
    values.update(fields)
    if "api_url" in fields:
        values.pop("model")
    return JsonDescription.model_validate(values)


def png_answer(png: bytes, **headers: str) -> httpx.Response:
    return httpx.Response(200, content=png, headers={"content-type": "image/png", **headers})


def json_answer(status: int, document: Any, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=document, headers=headers)


def make_client(
    http: httpx.AsyncClient,
    settings: Settings,
    sleep: FakeSleep,
    *,
    resolver: Callable[[str, int], Any] = public_resolver,
    clock: Callable[[], float] | None = None,
) -> HuggingFaceClient:
    """The client as the lifespan wires it, with fake time and no jitter."""
    pacing = Pacing(sleep=sleep, jitter=lambda: 0.0, **({"clock": clock} if clock else {}))
    return build_hf_client(
        http,
        settings,
        metrics=Metrics(),
        guard=OutboundGuard(OutboundPolicy.from_settings(settings), resolver),
        download_guard=OutboundGuard(OutboundPolicy.for_downloads(settings), resolver),
        pacing=pacing,
        conversions=BackgroundThreads(2),
    )
