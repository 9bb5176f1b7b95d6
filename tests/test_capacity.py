"""The bound on direct work: a call for several images holds that many places, or none."""

import pytest

from hf_text_to_image.capacity import Capacity
from hf_text_to_image.errors import ServiceBusyError


def test_places_are_taken_all_at_once_or_refused() -> None:
    capacity = Capacity(4, busy_message="busy")
    with capacity.slot():
        with capacity.slot(3):
            assert capacity.in_use == 4
            with pytest.raises(ServiceBusyError, match="busy"), capacity.slot():
                pass
        # 1 + 4 > 4: refused whole, nothing held.
        with pytest.raises(ServiceBusyError), capacity.slot(4):
            pass
        assert capacity.in_use == 1
        with capacity.slot(0):  # a single image needs no place beyond its request's
            assert capacity.in_use == 1
    assert capacity.in_use == 0
