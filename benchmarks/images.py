"""The stand-in's answers: a real PNG of about a given size, a photo-like 1024x1024 JPEG, and
a JSON answer carrying a PNG in base64 (as OpenAI-style image APIs answer)."""

import base64
import io
import json
import math
import random

from PIL import Image

JPEG_SIDE = 1024


def encode(picture: Image.Image, image_format: str, **options: int) -> bytes:
    output = io.BytesIO()
    picture.save(output, format=image_format, **options)
    return output.getvalue()


def noise_png(approx_bytes: int) -> bytes:
    """A PNG of random pixels: it does not compress, so its size is close to `approx_bytes`."""
    side = max(8, math.isqrt(approx_bytes // 3))
    pixels = random.Random(approx_bytes).randbytes(side * side * 3)  # noqa: S311 - pixels
    return encode(Image.frombytes("RGB", (side, side), pixels), "PNG")


def photo_like_jpeg(side: int = JPEG_SIDE) -> bytes:
    """Gradients and grain, saved as a model would: a JPEG at quality 90."""
    gradient = Image.linear_gradient("L").resize((side, side))
    grain = Image.effect_noise((side, side), 32)
    blue = gradient.transpose(Image.Transpose.ROTATE_90)
    return encode(Image.merge("RGB", (gradient, grain, blue)), "JPEG", quality=90)


def base64_json(image: bytes) -> bytes:
    """`{"data": [{"b64_json": ...}]}` around an image."""
    return json.dumps({"data": [{"b64_json": base64.b64encode(image).decode()}]}).encode()


def render(image_format: str, approx_bytes: int) -> bytes:
    """The answer body for a stand-in configuration (`approx_bytes`: the PNG's, not the JPEG's)."""
    if image_format == "jpeg":
        return photo_like_jpeg()
    if image_format == "base64":
        return base64_json(noise_png(approx_bytes))
    return noise_png(approx_bytes)


CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "base64": "application/json"}
