"""The one backoff formula, and time handed in as a collaborator."""

import pytest

from hf_text_to_image.pacing import Pacing, backoff_delay


@pytest.mark.parametrize(
    ("attempt", "jitter", "expected"),
    [(1, 0.0, 0.5), (1, 1.0, 1.0), (2, 0.0, 1.0), (3, 0.5, 3.0), (10, 0.0, 15.0), (10, 1.0, 30.0)],
)
def test_backoff_delay(attempt: int, jitter: float, expected: float) -> None:
    assert backoff_delay(attempt, first=1.0, cap=30.0, jitter=jitter) == expected


def test_backoff_from_half_a_second() -> None:
    assert [backoff_delay(n, first=0.5, cap=15.0, jitter=1.0) for n in (1, 2, 3, 20)] == [
        0.5,
        1.0,
        2.0,
        15.0,
    ]


def test_pacing_takes_its_jitter_from_the_source_given() -> None:
    assert Pacing(jitter=lambda: 1.0).backoff(2, first=1.0, cap=30.0) == 2.0
    assert Pacing(jitter=lambda: 0.0).backoff(2, first=1.0, cap=30.0) == 1.0
