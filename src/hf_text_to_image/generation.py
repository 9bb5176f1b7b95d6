"""One call's images: a seed always known, `n` images made together, provenance in each PNG."""

import asyncio
import dataclasses
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from . import __version__
from .access import TokenGrant
from .errors import InvalidInputError, ServiceError
from .huggingface.client import GeneratedImage, HuggingFaceClient
from .huggingface.decoding import PngImage
from .huggingface.providers import ADAPTERS, KNOWN_PARAMETERS
from .inputs import JsonDescription
from .provenance import Provenance, stamp

# Every provider takes a signed 32-bit seed (wavespeed's ceiling is 2**31 - 1; diffusers and
# the others take more): seeds the service picks, and their `+ n - 1`, stay at or below it.
MAX_SEED = 2**31 - 1
# OpenAI's Images API allows 1 to 10 images a call.
MAX_IMAGES = 10
SERVICE_NAME = "hf-text-to-image"


def choose_seed(count: int = 1) -> int:
    """A seed nobody can predict, leaving room for `count` consecutive seeds up to MAX_SEED."""
    return secrets.randbelow(MAX_SEED - count + 2)


def seeded(description: JsonDescription, seed: int) -> JsonDescription:
    """The same description with this seed among its parameters."""
    parameters = description.parameters.model_copy(update={"seed": seed})
    return description.model_copy(update={"parameters": parameters})


def parameters_sent(provider: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """The parameters the provider was given (in the service's names): known ones it takes."""
    takes = ADAPTERS[provider].takes
    return {
        name: value
        for name, value in parameters.items()
        if name not in KNOWN_PARAMETERS or name in takes
    }


def image_seed(image: GeneratedImage) -> int | None:
    """The seed that made the image; None when its provider takes no seed."""
    seed = image.parameters.get("seed")
    return seed if isinstance(seed, int) else None


def check_image_count(description: JsonDescription, limit: int, why: str) -> None:
    if description.n > limit:
        raise InvalidInputError(f"n is {description.n}, but {why}.")


async def _all_or_nothing(
    hf: HuggingFaceClient, descriptions: list[JsonDescription], prompt: str, grant: TokenGrant
) -> list[GeneratedImage]:
    """Every image, made concurrently; the first failure cancels the rest and is raised."""
    if len(descriptions) == 1:
        return [await hf.generate(descriptions[0], prompt, grant)]
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(hf.generate(item, prompt, grant)) for item in descriptions]
    except BaseExceptionGroup as failures:
        reasons = [error for error in failures.exceptions if isinstance(error, ServiceError)]
        if reasons:
            raise reasons[0] from None
        raise
    return [task.result() for task in tasks]


def with_provenance(
    image: GeneratedImage, prompt: str, *, enabled: bool, created: datetime
) -> GeneratedImage:
    """The image with the parameters its provider was sent, its PNG stamped if enabled."""
    sent = parameters_sent(image.provider, image.parameters)
    image = dataclasses.replace(image, parameters=sent)
    if not enabled:
        return image
    png = image.png
    record = Provenance(
        prompt=prompt,
        model=image.model,
        provider=image.provider,
        seed=image_seed(image),
        parameters=sent,
        width=png.width,
        height=png.height,
        service=SERVICE_NAME,
        version=__version__,
        created=created,
    )
    stamped = PngImage(stamp(png.data, record), png.width, png.height, png.source_format)
    return dataclasses.replace(image, png=stamped)


async def generate_images(
    description: JsonDescription,
    prompt: str,
    hf: HuggingFaceClient,
    grant: TokenGrant,
    *,
    provenance: bool,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[GeneratedImage]:
    """`n` images with seeds seed, seed+1, ... (the service picks one if none was given)."""
    count = description.n
    first = description.parameters.seed
    if first is None:
        first = choose_seed(count)
    descriptions = [seeded(description, first + index) for index in range(count)]
    images = await _all_or_nothing(hf, descriptions, prompt, grant)
    created = now()
    return [with_provenance(image, prompt, enabled=provenance, created=created) for image in images]
