"""Pure functions from an upstream answer's bytes to a checked PNG, or a typed error."""

import base64
import io
import json
import struct
import zlib

import pytest
from conftest import make_image
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from hf_text_to_image.errors import ServiceError, UpstreamError, UpstreamFormatError
from hf_text_to_image.huggingface.decoding import (
    PNG_SIGNATURE,
    extract_image,
    parse_json,
    sniff_image_format,
    to_png,
)

TOKEN = "hf_SECRETtoken1234567890"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def decoded(png: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(png))
    assert picture.format == "PNG"
    picture.load()
    return picture


# sniff_image_format


@pytest.mark.parametrize(
    ("image_format", "expected"),
    [
        ("PNG", "png"),
        ("JPEG", "jpeg"),
        ("GIF", "gif"),
        ("WEBP", "webp"),
        ("BMP", "bmp"),
        ("TIFF", "tiff"),
    ],
)
def test_sniff_image_format_real_images(image_format: str, expected: str) -> None:
    assert sniff_image_format(make_image(image_format)) == expected


@pytest.mark.parametrize(
    "data", [b"", b"{}", b"<html>", b"RIFF\x00\x00\x00\x00WAVE", b"iVBORw0KGgo", b"\x89PN"]
)
def test_sniff_image_format_not_image(data: bytes) -> None:
    assert sniff_image_format(data) is None


# extract_image: raw bytes


def test_extract_image_raw_png_untouched(png_bytes: bytes) -> None:
    assert extract_image(png_bytes) is png_bytes


def test_extract_image_raw_jpeg_untouched(jpeg_bytes: bytes) -> None:
    assert extract_image(jpeg_bytes) == jpeg_bytes


# extract_image: JSON and base64 shapes


def test_extract_image_seed_004_image_key(png_bytes: bytes) -> None:
    body = json.dumps({"image": b64(png_bytes)}).encode()

    assert extract_image(body) == png_bytes


def test_extract_image_openai_style_data(jpeg_bytes: bytes) -> None:
    body = json.dumps({"created": 1, "data": [{"b64_json": b64(jpeg_bytes)}]}).encode()

    assert extract_image(body) == jpeg_bytes


def test_extract_image_images_list(png_bytes: bytes) -> None:
    body = json.dumps({"images": [b64(png_bytes), "ignored"]}).encode()

    assert extract_image(body) == png_bytes


def test_extract_image_bare_json_string(png_bytes: bytes) -> None:
    body = json.dumps(b64(png_bytes)).encode()

    assert extract_image(body) == png_bytes


def test_extract_image_json_list_of_strings(png_bytes: bytes) -> None:
    assert extract_image(json.dumps([b64(png_bytes)]).encode()) == png_bytes


def test_extract_image_data_url(png_bytes: bytes) -> None:
    body = json.dumps({"output": f"data:image/png;base64,{b64(png_bytes)}"}).encode()

    assert extract_image(body) == png_bytes


def test_extract_image_bare_data_url_text(jpeg_bytes: bytes) -> None:
    body = f"data:image/jpeg;base64,{b64(jpeg_bytes)}".encode()

    assert extract_image(body) == jpeg_bytes


def test_extract_image_bare_base64_text(png_bytes: bytes) -> None:
    assert extract_image(b64(png_bytes).encode()) == png_bytes


def test_extract_image_base64_wrapped_and_unpadded(png_bytes: bytes) -> None:
    text = b64(png_bytes).rstrip("=")
    wrapped = "\n".join(text[i : i + 76] for i in range(0, len(text), 76))

    assert extract_image(f"  {wrapped}\n".encode()) == png_bytes


def test_extract_image_urlsafe_base64(png_bytes: bytes) -> None:
    # Pick an image whose encoding needs the URL-safe alphabet.
    data = png_bytes + b"\xfb\xff\xfe" * 3
    text = base64.urlsafe_b64encode(data).decode()
    assert "-" in text or "_" in text

    assert extract_image(text.encode()) == data


def test_extract_image_json_with_leading_whitespace(png_bytes: bytes) -> None:
    body = b"\n  " + json.dumps({"image": b64(png_bytes)}).encode()

    assert extract_image(body) == png_bytes


# extract_image: answers that are not an image


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "an empty body"),
        (b"  \n\t", "an empty body"),
        (b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", "an HTML page"),
        (b"\n<html>", "an HTML page"),
        (b"\xff\xfe\x00garbage", "data that is not an image"),
        (b'{"image": "\xff\xfe"}', "data that is not an image"),
        (b'{"image": "iVBOR', "malformed JSON"),
        (b"[" * 100_000, "malformed JSON"),
        (b'{"generated_text": "a cat"}', 'JSON that holds no image: {"generated_text": "a cat"}.'),
        (b"{}", "JSON that holds no image"),
        (b"[]", "JSON that holds no image"),
        (b'{"image": ""}', "JSON that holds no image"),
        (b'{"image": 42}', "JSON that holds no image"),
        (b'{"images": [{"url": "https://cdn.example/x.png"}]}', "JSON that holds no image"),
        (b'"not base64 at all!"', 'text instead of an image: "not base64 at all!".'),
        (b"Service unavailable.", 'text instead of an image: "Service unavailable.".'),
        (b"Internal Server Error", 'text instead of an image: "Internal Server Error".'),
        (b'"aGVsbG8gd29ybGQ="', 'text instead of an image: "aGVsbG8gd29ybGQ=".'),
        (b"QUJD" * 40, 'base64 data that is not an image (it starts "QUJDQUJD'),
        (b'{"image": "data:image/png,rawtext"}', "a data URL that is not base64"),
    ],
)
def test_extract_image_not_image_refused(body: bytes, message: str) -> None:
    with pytest.raises(UpstreamFormatError) as caught:
        extract_image(body)

    assert message in caught.value.message
    assert caught.value.http_status == 502


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b'{"error": "Model is overloaded"}', "Model is overloaded"),
        (b'{"error": ["bad width", "bad height"]}', "bad width; bad height"),
        (b'[{"error": "inside a list"}]', "inside a list"),
    ],
)
def test_extract_image_error_on_200(body: bytes, detail: str) -> None:
    with pytest.raises(UpstreamError) as caught:
        extract_image(body)

    assert not isinstance(caught.value, UpstreamFormatError)
    assert caught.value.message == f"The API answered 200 with an error: {detail}"


def test_extract_image_error_on_200_cut_short() -> None:
    with pytest.raises(UpstreamError) as caught:
        extract_image(json.dumps({"error": "x" * 1000}).encode())

    assert caught.value.message == "The API answered 200 with an error: " + "x" * 300


def test_extract_image_error_on_200_token_redacted() -> None:
    body = json.dumps({"error": f"Invalid token {TOKEN} for org/model"}).encode()

    with pytest.raises(UpstreamError) as caught:
        extract_image(body)

    assert TOKEN not in caught.value.message
    assert "Invalid token *** for org/model" in caught.value.message


# to_png


def test_to_png_png_byte_identical(png_bytes: bytes) -> None:
    png = to_png(png_bytes)

    assert png.data is png_bytes
    assert (png.width, png.height, png.source_format) == (64, 48, "png")


@pytest.mark.parametrize("image_format", ["JPEG", "WEBP", "GIF", "BMP", "TIFF"])
def test_to_png_other_format_converted(image_format: str) -> None:
    png = to_png(make_image(image_format, size=(80, 56)))

    assert png.data.startswith(PNG_SIGNATURE)
    assert png.source_format == image_format.lower()
    assert (png.width, png.height) == (80, 56)
    picture = decoded(png.data)
    assert picture.size == (80, 56)
    # The red background survives the round trip (JPEG and WebP are lossy: allow some drift).
    red, green, blue = picture.convert("RGB").getpixel((79, 1))
    assert abs(red - 200) < 12
    assert abs(green - 30) < 12
    assert abs(blue - 60) < 12


def test_to_png_cmyk_jpeg_converted_to_rgb() -> None:
    output = io.BytesIO()
    Image.new("CMYK", (10, 8), (0, 50, 100, 0)).save(output, format="JPEG")

    png = to_png(output.getvalue())

    assert decoded(png.data).mode == "RGB"
    assert (png.width, png.height) == (10, 8)


def test_to_png_alpha_kept() -> None:
    output = io.BytesIO()
    Image.new("RGBA", (10, 8), (0, 50, 100, 10)).save(output, format="WEBP", lossless=True)

    png = to_png(output.getvalue())

    picture = decoded(png.data)
    assert picture.mode == "RGBA"
    assert picture.getpixel((0, 0)) == (0, 50, 100, 10)


def test_to_png_truncated_png_refused(png_bytes: bytes) -> None:
    with pytest.raises(UpstreamFormatError, match="a truncated PNG"):
        to_png(png_bytes[:-20])


def test_to_png_png_missing_iend_refused(png_bytes: bytes) -> None:
    with pytest.raises(UpstreamFormatError, match="a truncated PNG"):
        to_png(png_bytes[:-12])


def test_to_png_trailing_bytes_refused(png_bytes: bytes) -> None:
    with pytest.raises(UpstreamFormatError, match="a truncated PNG"):
        to_png(png_bytes + b"\x00" * 16)


def test_to_png_signature_only_refused() -> None:
    with pytest.raises(UpstreamFormatError, match="a truncated PNG"):
        to_png(PNG_SIGNATURE)


def test_to_png_corrupt_crc_refused(png_bytes: bytes) -> None:
    corrupt = bytearray(png_bytes)
    corrupt[40] ^= 0xFF  # a byte inside the IDAT data

    with pytest.raises(UpstreamFormatError) as caught:
        to_png(bytes(corrupt))

    assert caught.value.message == "The API answered a corrupt PNG (a chunk fails its checksum)."


def test_to_png_without_ihdr_refused() -> None:
    with pytest.raises(UpstreamFormatError, match="a truncated PNG"):
        to_png(PNG_SIGNATURE + chunk(b"IEND", b""))


def test_to_png_huge_png_refused() -> None:
    header = struct.pack(">IIBBBBB", 10_000, 10_000, 8, 2, 0, 0, 0)
    data = PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IEND", b"")

    with pytest.raises(UpstreamFormatError) as caught:
        to_png(data)

    assert caught.value.message == "The API answered an image too large (10000x10000)."


def test_to_png_huge_gif_refused() -> None:
    size = struct.pack("<HH", 9000, 9000)
    data = b"GIF89a" + size + b"\x00\x00\x00" + b"\x2c\x00\x00\x00\x00" + size
    data += b"\x00\x02\x02\x44\x01\x00\x3b"

    with pytest.raises(UpstreamFormatError) as caught:
        to_png(data)

    assert caught.value.message == "The API answered an image too large (9000x9000)."


@pytest.mark.parametrize(
    ("data", "source_format"),
    [
        (make_image("JPEG")[:200], "jpeg"),
        (make_image("GIF")[:30], "gif"),
        (b"BM not really a bitmap", "bmp"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 junk", "webp"),
        (b"\x00\x01 unknown", "unknown"),
    ],
)
def test_to_png_unreadable_image_refused(data: bytes, source_format: str) -> None:
    with pytest.raises(UpstreamFormatError) as caught:
        to_png(data)

    assert caught.value.message == (
        f"The API answered a {source_format} image that cannot be read (truncated or corrupt)."
    )


# Whatever the upstream sends, only the service's own errors come out.

_PREFIXES = [
    b"",
    PNG_SIGNATURE,
    b"\xff\xd8\xff",
    b"GIF89a",
    b"BM",
    b"II*\x00",
    b"RIFF\x00\x00\x00\x00WEBP",
    b"{",
    b'{"image": "',
    b"[",
    b'"',
    b"data:image/png;base64,",
    b"iVBORw0KGgo",
]


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow's notes on corrupt metadata
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(prefix=st.sampled_from(_PREFIXES), rest=st.binary(max_size=300))
def test_decode_arbitrary_bytes_only_service_errors(prefix: bytes, rest: bytes) -> None:
    try:
        png = to_png(extract_image(prefix + rest))
    except ServiceError:
        return
    assert png.data.startswith(PNG_SIGNATURE)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@settings(max_examples=200, deadline=None, database=None)
@given(
    image_format=st.sampled_from(["PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF"]),
    data=st.data(),
)
def test_decode_damaged_images_only_service_errors(image_format: str, data: st.DataObject) -> None:
    image = bytearray(make_image(image_format, size=(16, 12)))
    position = data.draw(st.integers(0, len(image) - 1))
    replacement = data.draw(st.binary(min_size=0, max_size=8))
    image[position : position + len(replacement)] = replacement
    cut = data.draw(st.integers(1, len(image)))
    try:
        png = to_png(extract_image(bytes(image[:cut])))
    except ServiceError:
        return
    assert png.data.startswith(PNG_SIGNATURE)


def test_a_large_base64_answer_decodes_in_every_shape(png_bytes: bytes) -> None:
    """Strict base64, wrapped at 76 columns, unpadded, URL-safe: all give the same image."""
    image = png_bytes + b"\x00" * 3_000_000  # a few MB, as a 1024x1024 PNG would be
    encoded = base64.b64encode(image).decode()
    wrapped = "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    for text in (encoded, wrapped, encoded.rstrip("="), base64.urlsafe_b64encode(image).decode()):
        assert extract_image(json.dumps({"data": [{"b64_json": text}]}).encode()) == image


# parse_json: json.loads, with an answer's long base64 string kept out of the parser

LONG = base64.b64encode(bytes(range(256)) * 300).decode()  # 100 KB, past the cut-out length
_SMALL_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=8,
)


def _with_long_string(document: object, where: int, as_key: bool) -> object:
    """The document with LONG put in a list or dict, at the `where`-th container found."""
    containers = []
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, dict | list):
            containers.append(value)
            pending.extend(value.values() if isinstance(value, dict) else value)
    if not containers:
        return {LONG: document} if as_key else [document, LONG]
    target = containers[where % len(containers)]
    if isinstance(target, dict):
        target[LONG if as_key else "image"] = "key" if as_key else LONG
    else:
        target.append(LONG)
    return document


@settings(max_examples=150, deadline=None, database=None)
@given(
    document=_SMALL_VALUES,
    where=st.integers(0, 20),
    as_key=st.booleans(),
    ensure_ascii=st.booleans(),
    compact=st.booleans(),
)
def test_parse_json_gives_what_json_loads_gives(
    document: object, where: int, as_key: bool, ensure_ascii: bool, compact: bool
) -> None:
    body = json.dumps(
        _with_long_string(document, where, as_key),
        ensure_ascii=ensure_ascii,
        separators=(",", ":") if compact else None,
    ).encode()
    assert parse_json(body) == json.loads(body)


@pytest.mark.parametrize(
    "body",
    [
        json.dumps(LONG).encode(),  # the answer is the string itself
        json.dumps({"a": 'say "hi"', "image": LONG}).encode(),  # an escaped quote before it
        json.dumps({"a": "\\", "image": LONG}).encode(),  # an escaped backslash before it
        json.dumps({"image": LONG.replace("A", "/")}).replace("/", "\\/").encode(),  # "\/"
        json.dumps({"image": LONG[:50_000] + "\n" + LONG[50_000:]}).encode(),  # an escape in it
        json.dumps({"image": LONG + "\u00e9"}, ensure_ascii=False).encode(),  # not ASCII
        json.dumps(["x"] * 300 + [LONG]).encode(),  # too many strings before it
    ],
)
def test_parse_json_same_document_in_every_case(body: bytes) -> None:
    assert parse_json(body) == json.loads(body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"image": "' + LONG.encode() + b"\n" + LONG.encode() + b'"}',  # a raw line break
        b'{"image": "' + LONG.encode() + b'"',  # cut short
        b'{"image": "' + LONG.encode(),  # the string never closes
        b'{"image" "' + LONG.encode() + b'"}',  # no colon
        b'{"image": "' + LONG.encode() + b'"} trailing',
    ],
)
def test_parse_json_same_error_for_malformed_json(body: bytes) -> None:
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)
    with pytest.raises(json.JSONDecodeError):
        parse_json(body)


def test_parse_json_keeps_the_long_string_out_of_the_parser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parsed: list[int] = []
    real_loads = json.loads

    def counting_loads(text: bytes) -> object:
        parsed.append(len(text))
        return real_loads(text)

    monkeypatch.setattr("hf_text_to_image.huggingface.decoding.json.loads", counting_loads)
    body = json.dumps([{"generated_image": LONG}]).encode()
    assert parse_json(body) == [{"generated_image": LONG}]
    assert parsed
    assert max(parsed) < 100, "the image string was parsed"
