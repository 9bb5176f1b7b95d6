"""Provenance chunks: read back by Pillow, pixels untouched, every CRC right."""

import io
import json
import struct
import zlib
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import make_image
from PIL import Image, PngImagePlugin

from hf_text_to_image.huggingface.decoding import to_png
from hf_text_to_image.provenance import (
    PARAMETERS_KEYWORD,
    RECORD_KEYWORD,
    Provenance,
    infotext,
    stamp,
    text_chunk,
    with_text_chunks,
)

CREATED = datetime(2026, 12, 2, 7, 0, 0, tzinfo=UTC)


def record(**overrides: Any) -> Provenance:
    values: dict[str, Any] = {
        "prompt": "A hummingbird, watercolor",
        "model": "black-forest-labs/FLUX.1-dev",
        "provider": "fal-ai",
        "seed": 1234,
        "parameters": {
            "negative_prompt": "blurry",
            "num_inference_steps": 28,
            "guidance_scale": 3.5,
            "seed": 1234,
        },
        "width": 64,
        "height": 48,
        "service": "hf-text-to-image",
        "version": "1.0.0",
        "created": CREATED,
    }
    values.update(overrides)
    return Provenance(**values)


def chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """Every chunk's type and data, failing on a wrong CRC."""
    found = []
    position = 8
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind = png[position + 4 : position + 8]
        data = png[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", png[position + 8 + length : position + 12 + length])
        assert zlib.crc32(kind + data) == crc, kind
        found.append((kind, data))
        position += 12 + length
    assert position == len(png)
    return found


def test_infotext_is_the_web_ui_form() -> None:
    assert infotext(record()) == (
        "A hummingbird, watercolor\n"
        "Negative prompt: blurry\n"
        "Steps: 28, CFG scale: 3.5, Seed: 1234, Size: 64x48, Model: black-forest-labs/FLUX.1-dev"
    )


def test_infotext_leaves_out_what_is_unknown_and_quotes_separators() -> None:
    text = infotext(
        record(parameters={"scheduler": "Euler a"}, seed=None, model="owner/name:v1", prompt="a\nb")
    )
    assert text == 'a\nb\nSampler: Euler a, Size: 64x48, Model: "owner/name:v1"'


def test_stamp_is_read_back_by_pillow_with_pixels_untouched() -> None:
    original = make_image("PNG", (64, 48))
    stamped = stamp(original, record())
    with Image.open(io.BytesIO(stamped)) as picture:
        info = dict(picture.info)  # before load(): the chunks precede the image data
        picture.load()
        with Image.open(io.BytesIO(original)) as before:
            assert picture.tobytes() == before.tobytes()
    assert info[PARAMETERS_KEYWORD] == infotext(record())
    document = json.loads(info[RECORD_KEYWORD])
    assert document == {
        "prompt": "A hummingbird, watercolor",
        "model": "black-forest-labs/FLUX.1-dev",
        "provider": "fal-ai",
        "seed": 1234,
        "parameters": record().parameters,
        "width": 64,
        "height": 48,
        "service": "hf-text-to-image",
        "version": "1.0.0",
        "created": "2026-12-02T07:00:00+00:00",
    }
    # The image chunks are the original's, byte for byte; only the two text chunks are new.
    new = [item for item in chunks(stamped) if item not in chunks(original)]
    assert [kind for kind, _ in new] == [b"tEXt", b"tEXt"]
    assert to_png(stamped).data == stamped  # the service's own chunk and CRC walk accepts it


def test_text_beyond_latin_1_goes_in_itxt() -> None:
    prompt = 'A "quoted" hummingbird\nover Zürich, 夜 🐦'
    stamped = stamp(make_image("PNG"), record(prompt=prompt))
    kinds = [kind for kind, _ in chunks(stamped) if kind in (b"tEXt", b"iTXt")]
    assert kinds == [b"iTXt", b"iTXt"]
    with Image.open(io.BytesIO(stamped)) as picture:
        assert picture.info[PARAMETERS_KEYWORD].startswith(prompt + "\nNegative prompt: blurry")
        assert json.loads(picture.info[RECORD_KEYWORD])["prompt"] == prompt


def test_same_named_chunks_from_the_provider_are_replaced() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text(PARAMETERS_KEYWORD, "the provider's own words")
    info.add_text("Software", "provider renderer")
    output = io.BytesIO()
    Image.new("RGB", (8, 8)).save(output, format="PNG", pnginfo=info)
    stamped = with_text_chunks(output.getvalue(), {PARAMETERS_KEYWORD: "ours"})
    texts = [data for kind, data in chunks(stamped) if kind == b"tEXt"]
    assert texts == [b"Software\x00provider renderer", b"parameters\x00ours"]


@pytest.mark.parametrize("data", [b"", b"GIF89a...", make_image("PNG")[:40]])
def test_not_a_whole_png_is_refused(data: bytes) -> None:
    with pytest.raises(ValueError, match="PNG"):
        with_text_chunks(data, {"a": "b"})


def test_keywords_must_be_valid() -> None:
    with pytest.raises(ValueError, match="keyword"):
        text_chunk("", "x")
    with pytest.raises(ValueError, match="keyword"):
        text_chunk("k" * 80, "x")
