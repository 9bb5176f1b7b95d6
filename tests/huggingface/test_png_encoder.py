"""The fast PNG encoder: lossless, a valid PNG stream chunk by chunk, every 8-bit mode."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageCms

from hf_text_to_image.huggingface.decoding import PNG_SIGNATURE, encode_png, to_png

CHANNELS = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}
COLOUR_TYPES = {"L": 0, "LA": 4, "RGB": 2, "RGBA": 6}


def photo(mode: str, size: tuple[int, int]) -> Image.Image:
    """Gradients with grain, in the given mode: every filter byte and channel gets used."""
    gradient = Image.linear_gradient("L").resize(size)
    grain = Image.effect_noise(size, 40)
    bands = [gradient, grain, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT), grain]
    return Image.merge(mode, bands[: CHANNELS[mode]]) if mode != "L" else grain


def chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """Every chunk as (kind, data), each CRC checked, nothing before, between or after."""
    assert png.startswith(PNG_SIGNATURE)
    found, position = [], len(PNG_SIGNATURE)
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind = png[position + 4 : position + 8]
        data = png[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", png[position + 8 + length : position + 12 + length])
        assert len(data) == length, "truncated chunk"
        assert zlib.crc32(kind + data) == crc, f"{kind!r} fails its CRC"
        found.append((kind, data))
        position += 12 + length
    return found


def check_stream(png: bytes, mode: str, size: tuple[int, int]) -> None:
    """What a strict reader (libpng, a browser) requires of the chunks and the scanlines."""
    found = chunks(png)
    kinds = [kind for kind, _ in found]
    assert kinds[0] == b"IHDR"
    assert found[-1] == (b"IEND", b"")
    idat = [index for index, kind in enumerate(kinds) if kind == b"IDAT"]
    assert idat == list(range(idat[0], idat[-1] + 1)), "IDAT chunks must be consecutive"
    assert set(kinds) <= {b"IHDR", b"iCCP", b"IDAT", b"IEND"}
    width, height, depth, colour, method, filtering, interlace = struct.unpack(
        ">IIBBBBB", found[0][1]
    )
    assert (width, height) == size
    assert (depth, colour, method, filtering, interlace) == (8, COLOUR_TYPES[mode], 0, 0, 0)
    scanlines = zlib.decompress(b"".join(found[index][1] for index in idat))
    stride = 1 + width * CHANNELS[mode]
    assert len(scanlines) == height * stride
    assert all(scanlines[row * stride] <= 4 for row in range(height)), "unknown filter type"


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
@pytest.mark.parametrize("size", [(1, 1), (3, 700), (257, 513), (640, 480)])
def test_encode_png_is_lossless_and_valid(mode: str, size: tuple[int, int]) -> None:
    picture = photo(mode, size)
    png = encode_png(picture)
    check_stream(png, mode, size)
    with Image.open(io.BytesIO(png)) as decoded:
        assert decoded.mode == mode
        assert np.array_equal(np.asarray(decoded), np.asarray(picture))


def test_jpeg_to_png_is_pixel_equal_to_the_decoded_jpeg() -> None:
    output = io.BytesIO()
    photo("RGB", (1024, 768)).save(output, format="JPEG", quality=90)
    jpeg = output.getvalue()
    png = to_png(jpeg)
    check_stream(png.data, "RGB", (1024, 768))
    with Image.open(io.BytesIO(jpeg)) as source, Image.open(io.BytesIO(png.data)) as result:
        assert np.array_equal(np.asarray(result), np.asarray(source.convert("RGB")))
        reference = io.BytesIO()
        source.save(reference, format="PNG")
    # On photo-like content, no bigger than Pillow's default by more than the allowed third.
    assert len(png.data) <= 1.35 * len(reference.getvalue())


def test_the_colour_profile_is_kept() -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    picture = photo("RGB", (32, 32))
    picture.info["icc_profile"] = profile
    png = encode_png(picture)
    check_stream(png, "RGB", (32, 32))
    with Image.open(io.BytesIO(png)) as decoded:
        assert decoded.info["icc_profile"] == profile


def test_palette_and_keyed_transparency_go_through_pillow() -> None:
    palette = photo("RGB", (40, 30)).convert("P")
    palette.info["transparency"] = 0
    output = io.BytesIO()
    palette.save(output, format="GIF", transparency=0)
    png = to_png(output.getvalue())
    with Image.open(io.BytesIO(png.data)) as decoded:
        assert decoded.mode == "P"
        assert "transparency" in decoded.info
