"""Seeds always known, `n` images made together or not at all, provenance on or off."""

import base64
import io
import json
import secrets
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from PIL import Image
from standins.hf_api import Answer, HuggingFaceStandIn, render_image
from standins.servers import wait_for

from hf_text_to_image.access import TokenGrant
from hf_text_to_image.config import Settings
from hf_text_to_image.errors import InvalidInputError
from hf_text_to_image.generation import MAX_SEED, choose_seed, parameters_sent
from hf_text_to_image.service import generate_from_files

TOKEN = "hf_GenerationSecret0123456789"
PROMPT = "a lighthouse at dusk"


def post(url: str, description: dict[str, Any], *, as_json: bool = True) -> httpx.Response:
    files = {
        "json_description": ("d.json", json.dumps({"api_token": TOKEN, **description}), "a/j"),
        "input_text": ("p.txt", PROMPT.encode(), "text/plain"),
    }
    headers = {"Accept": "application/json"} if as_json else {}
    return httpx.post(f"{url}/process", files=files, headers=headers, timeout=30)


def png_info(data_url: str) -> dict[str, Any]:
    png = base64.b64decode(data_url.removeprefix("data:image/png;base64,"))
    with Image.open(io.BytesIO(png)) as picture:
        return dict(picture.info)


def test_n_images_are_made_together_with_consecutive_seeds(
    start_direct: Callable[..., str], hf: HuggingFaceStandIn
) -> None:
    url = start_direct()
    hf.gate.clear()  # every request waits: three in flight at once proves they overlap
    answer: list[httpx.Response] = []
    caller = threading.Thread(
        target=lambda: answer.append(
            post(url, {"model": "org/model", "n": 3, "parameters": {"seed": 100}})
        )
    )
    caller.start()
    wait_for(lambda: hf.in_flight == 3)
    hf.gate.set()
    caller.join(timeout=30)

    [response] = answer
    assert response.status_code == 200, response.text
    assert response.headers["x-seed"] == "100, 101, 102"
    body = response.json()
    assert [image["seed"] for image in body["images"]] == [100, 101, 102]
    assert body["image"] == body["images"][0]["image"]
    sent = sorted(json.loads(request.body)["parameters"]["seed"] for request in hf.requests)
    assert sent == [100, 101, 102]
    for image in body["images"]:
        info = png_info(image["image"])
        assert f"Seed: {image['seed']}," in info["parameters"]
        assert json.loads(info["hf-text-to-image"])["seed"] == image["seed"]


def test_one_failing_image_fails_the_whole_call(
    start_direct: Callable[..., str], hf: HuggingFaceStandIn
) -> None:
    url = start_direct()
    hf.answer_with(Answer(), Answer(status=401, json_body={"error": "Invalid credentials"}))

    response = post(url, {"model": "org/model", "n": 3})

    assert response.status_code == 502
    assert "token" in response.json()["detail"]
    assert "images" not in response.json()
    # Every place is given back: the next call gets its images.
    assert post(url, {"model": "org/model", "n": 2}).status_code == 200


def test_several_images_need_a_json_answer_and_free_places(
    start_direct: Callable[..., str], hf: HuggingFaceStandIn
) -> None:
    url = start_direct(max_direct_requests=2)

    as_png = post(url, {"model": "org/model", "n": 2}, as_json=False)
    too_many = post(url, {"model": "org/model", "n": 3})

    assert as_png.status_code == 400
    assert "a PNG answer holds one image" in as_png.json()["detail"]
    assert too_many.status_code == 400
    assert "at most 2 at once" in too_many.json()["detail"]
    assert hf.requests == []


def test_provenance_off_returns_the_provider_png_untouched(
    start_direct: Callable[..., str], hf: HuggingFaceStandIn
) -> None:
    url = start_direct(png_provenance=False)

    response = post(url, {"model": "org/model"}, as_json=False)

    assert response.status_code == 200
    assert response.content == render_image("PNG")
    seed = json.loads(hf.requests[0].body)["parameters"]["seed"]
    assert response.headers["x-seed"] == str(seed)


def test_chosen_seeds_leave_room_for_every_image(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "randbelow", lambda bound: bound - 1)
    assert choose_seed(10) + 9 == MAX_SEED
    monkeypatch.undo()
    assert 0 <= choose_seed() <= MAX_SEED


def test_parameters_sent_leave_out_what_the_provider_does_not_take() -> None:
    parameters = {"seed": 5, "num_inference_steps": 4, "steps_extra": 1}
    assert parameters_sent("nscale", parameters) == {"seed": 5, "steps_extra": 1}
    assert parameters_sent("fal-ai", parameters) == parameters


@pytest.mark.anyio
async def test_engine_tasks_make_one_image(make_settings: Callable[..., Settings]) -> None:
    description = json.dumps({"api_token": TOKEN, "model": "org/model", "n": 2}).encode()
    with pytest.raises(InvalidInputError, match="an engine task makes one image"):
        await generate_from_files(
            description,
            PROMPT.encode(),
            None,  # type: ignore[arg-type]
            make_settings(),
            TokenGrant.for_engine_task(None),
        )
