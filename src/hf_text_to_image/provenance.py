"""What made an image, written into its PNG as text chunks, without touching the pixels.

Two chunks: `parameters`, in the form the Stable Diffusion web UIs write and their "PNG info"
tools read back (the prompt, a `Negative prompt:` line, then `Key: value` pairs), and a JSON
chunk with the whole record. They go in before the first `IDAT`, where Pillow and the web
UIs' readers find them without decoding the image; chunks of the same names that the
provider's own PNG carried are dropped, so a reader never sees two answers.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .png import PNG_SIGNATURE, chunk, chunks

PARAMETERS_KEYWORD = "parameters"
RECORD_KEYWORD = "hf-text-to-image"
_TEXT_CHUNK_TYPES = (b"tEXt", b"iTXt", b"zTXt")


@dataclass(frozen=True)
class Provenance:
    """Everything the service knows about how one image was made (never a token)."""

    prompt: str
    model: str
    provider: str
    seed: int | None
    parameters: Mapping[str, Any]
    width: int
    height: int
    service: str
    version: str
    created: datetime


def _quote(value: object) -> str:
    """A value as the web UIs write it: JSON-quoted when it holds `,`, `:` or a newline."""
    text = (
        value
        if isinstance(value, str)
        else f"{value:g}"
        if isinstance(value, float)
        else str(value)
    )
    if any(mark in text for mark in (",", ":", "\n")):
        return json.dumps(text, ensure_ascii=False)
    return text


def infotext(record: Provenance) -> str:
    """The `parameters` text: prompt, `Negative prompt: ...`, then `Steps: N, Sampler: ...`."""
    parameters = record.parameters
    fields: dict[str, object | None] = {
        "Steps": parameters.get("num_inference_steps"),
        "Sampler": parameters.get("scheduler"),
        "CFG scale": parameters.get("guidance_scale"),
        "Seed": record.seed,
        "Size": f"{record.width}x{record.height}",
        "Model": record.model,
    }
    lines = [record.prompt]
    negative = parameters.get("negative_prompt")
    if negative:
        lines.append(f"Negative prompt: {negative}")
    lines.append(
        ", ".join(f"{key}: {_quote(value)}" for key, value in fields.items() if value is not None)
    )
    return "\n".join(lines)


def record_json(record: Provenance) -> str:
    """The JSON chunk: model, provider, seed, every parameter sent, the service and the time."""
    document = {
        "prompt": record.prompt,
        "model": record.model,
        "provider": record.provider,
        "seed": record.seed,
        "parameters": dict(record.parameters),
        "width": record.width,
        "height": record.height,
        "service": record.service,
        "version": record.version,
        "created": record.created.isoformat(timespec="seconds"),
    }
    return json.dumps(document, ensure_ascii=False, sort_keys=False)


def text_chunk(keyword: str, text: str) -> bytes:
    """A `tEXt` chunk when the text is Latin-1, else an uncompressed UTF-8 `iTXt` chunk."""
    name = keyword.encode("latin-1")
    if not 1 <= len(name) <= 79 or b"\x00" in name:
        raise ValueError(f"a PNG text keyword is 1 to 79 Latin-1 characters: {keyword!r}")
    try:
        kind, data = b"tEXt", name + b"\x00" + text.encode("latin-1")
    except UnicodeEncodeError:
        # keyword, NUL, no compression (0, 0), no language tag, no translated keyword.
        kind, data = b"iTXt", name + b"\x00\x00\x00\x00\x00" + text.encode("utf-8")
    return chunk(kind, data)


def _chunk_keyword(kind: bytes, data: memoryview) -> str | None:
    if kind not in _TEXT_CHUNK_TYPES:
        return None
    return bytes(data[:80]).split(b"\x00", 1)[0].decode("latin-1")


def with_text_chunks(png: bytes, texts: Mapping[str, str], *, insert: bool = True) -> bytes:
    """The PNG with these text chunks before its first IDAT, same-named text chunks dropped.

    With `insert=False` the same-named chunks are only dropped.

    The pixel data is copied as it is, once: no decoding, no re-encoding. Raises ValueError
    for bytes that are not a PNG with an IHDR and an IDAT.
    """
    if not png.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG")
    view = memoryview(png)
    kept: list[bytes | memoryview] = [PNG_SIGNATURE]
    inserted = False
    for part in chunks(view):
        if part.kind == b"IDAT" and not inserted:
            if insert:
                kept.extend(text_chunk(keyword, text) for keyword, text in texts.items())
            inserted = True
        if _chunk_keyword(part.kind, part.data(view)) not in texts:
            kept.append(part.whole(view))
    if not inserted:
        raise ValueError("a PNG without image data")
    return b"".join(kept)


def stamp(png: bytes, record: Provenance) -> bytes:
    """The PNG carrying its `parameters` text and its JSON record."""
    return with_text_chunks(
        png, {PARAMETERS_KEYWORD: infotext(record), RECORD_KEYWORD: record_json(record)}
    )
