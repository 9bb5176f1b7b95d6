"""The lifespan's process-wide settings: set while the service runs, undone when it stops."""

import gc
import sys
from collections.abc import Callable

import pytest
from standins.asgi import serve

from hf_text_to_image.background import GIL_SWITCH_INTERVAL_SECONDS
from hf_text_to_image.config import Settings
from hf_text_to_image.main import create_app


@pytest.mark.anyio
async def test_start_up_objects_are_frozen_out_of_the_collector_while_serving(
    make_settings: Callable[..., Settings],
) -> None:
    async with serve(create_app(make_settings())) as client:
        assert (await client.get("/status")).status_code == 200
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0  # back in the collector's sight: nothing leaks


@pytest.mark.anyio
async def test_the_loop_waits_for_the_gil_at_most_a_millisecond_while_serving(
    make_settings: Callable[..., Settings],
) -> None:
    before = sys.getswitchinterval()
    assert before > GIL_SWITCH_INTERVAL_SECONDS  # the interpreter's default, 5 ms
    async with serve(create_app(make_settings())) as client:
        assert (await client.get("/status")).status_code == 200
        assert sys.getswitchinterval() == pytest.approx(GIL_SWITCH_INTERVAL_SECONDS)
    assert sys.getswitchinterval() == before
