"""The direct endpoint: the two files as multipart in, the PNG straight back."""

import base64
import time
from typing import Annotated

from fastapi import APIRouter, File, Header, UploadFile
from fastapi.responses import JSONResponse, Response

from ..errors import InvalidInputError
from ..inputs import description_too_large, prompt_too_long
from ..service import DESCRIPTION_EXAMPLE, PROMPT_EXAMPLE, generate_from_files
from .access import DirectGrantDep
from .deps import RuntimeDep

router = APIRouter(tags=["Direct"])

PNG_RESPONSE = {
    "description": "The generated image as PNG (or JSON with a data URL when asked for JSON).",
    "content": {
        "image/png": {"schema": {"type": "string", "format": "binary"}},
        "application/json": {
            "example": {
                "image": "data:image/png;base64,iVBORw0KGgo...",
                "model": "stabilityai/stable-diffusion-3-medium-diffusers",
                "parameters": {"width": 512, "height": 512},
                "width": 512,
                "height": 512,
                "source_format": "jpeg",
                "attempts": 1,
                "request_id": "Root=1-abc",
                "timings": {"upstream_seconds": 4.2, "total_seconds": 4.25},
            }
        },
    },
}
ERROR_RESPONSES: dict[int | str, dict[str, str]] = {
    400: {"description": "Invalid json_description or input_text; the detail says what to fix."},
    502: {"description": "The inference API failed or answered something that is not an image."},
    503: {"description": "The service is busy, or the model is still loading; try again."},
    504: {"description": "The inference API did not answer in time."},
}


def prefers_json(accept: str | None) -> bool:
    """True when the Accept header ranks application/json above image/png."""
    if not accept:
        return False
    weights: dict[str, float] = {}
    for item in accept.split(","):
        media_type, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        weights[media_type.lower()] = quality
    png = max(weights.get("image/png", 0.0), weights.get("image/*", 0.0), weights.get("*/*", 0.0))
    return weights.get("application/json", 0.0) > png


async def read_upload(upload: UploadFile, *, limit: int, too_large: str) -> bytes:
    """The upload's bytes, refusing more than `limit` (with `too_large`) without holding them."""
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise InvalidInputError(too_large)
    return data


@router.post(
    "/process",
    summary="Generate an image from a prompt, right away",
    response_class=Response,
    responses={200: PNG_RESPONSE, **ERROR_RESPONSES},
)
async def process(
    runtime: RuntimeDep,
    grant: DirectGrantDep,
    json_description: Annotated[
        UploadFile,
        File(
            description=f"JSON file naming the model and your token, e.g. `{DESCRIPTION_EXAMPLE}`"
        ),
    ],
    input_text: Annotated[
        UploadFile, File(description=f"UTF-8 text file with the prompt, e.g. `{PROMPT_EXAMPLE}`")
    ],
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Call the model with the prompt and answer the PNG (or JSON with a data URL)."""
    settings = runtime.settings
    started = time.perf_counter()
    with runtime.direct_capacity.slot():
        raw_description = await read_upload(
            json_description,
            limit=settings.max_description_bytes,
            too_large=description_too_large(settings.max_description_bytes),
        )
        # UTF-8 takes at most 4 bytes a character: past this, the prompt is surely too long.
        raw_prompt = await read_upload(
            input_text,
            limit=4 * settings.max_prompt_length + 16,
            too_large=prompt_too_long(settings.max_prompt_length),
        )
        image = await generate_from_files(raw_description, raw_prompt, runtime.hf, settings, grant)
    headers = {"X-Upstream-Attempts": str(image.attempts)}
    if image.model.isascii():
        headers["X-Model"] = image.model
    if not prefers_json(accept):
        return Response(image.png.data, media_type="image/png", headers=headers)
    encoded = base64.b64encode(image.png.data).decode("ascii")
    return JSONResponse(
        {
            "image": f"data:image/png;base64,{encoded}",
            "model": image.model,
            "provider": image.provider,
            "parameters": image.parameters,
            "width": image.png.width,
            "height": image.png.height,
            "source_format": image.png.source_format,
            "attempts": image.attempts,
            "request_id": image.request_id,
            "timings": {
                "upstream_seconds": round(image.upstream_seconds, 3),
                "total_seconds": round(time.perf_counter() - started, 3),
            },
        },
        headers=headers,
    )
