"""Registration loops under an unexpected error: logged with their name, resumed."""

import logging

import pytest
from standins.engine import EngineStandIn
from standins.faults import failing_once
from standins.fixtures import Start
from standins.servers import wait_for

from hf_text_to_image.engine.client import EngineClient
from hf_text_to_image.engine.registration import Registrations
from hf_text_to_image.service import SLUG


def test_heartbeat_resumes_after_an_unexpected_error(
    start_service: Start,
    engine: EngineStandIn,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ping, failed = failing_once(EngineClient.ping, RuntimeError("a bug in the heartbeat"))
    monkeypatch.setattr(EngineClient, "ping", ping)
    start_service(heartbeat_interval=0.05)

    wait_for(failed.is_set)
    pings_when_it_failed = len(engine.pings)
    # The loop restarts: the engine hears from the service again.
    wait_for(lambda: len(engine.pings) >= pings_when_it_failed + 2)
    assert engine.pings[-1] == SLUG
    [failure] = [
        record
        for record in caplog.records
        if record.levelno == logging.ERROR
        and f"'engine {engine.public_url}'" in record.getMessage()
    ]
    assert failure.exc_info is not None
    assert failure.exc_info[0] is RuntimeError


def test_the_self_check_resumes_after_an_unexpected_error(
    start_service: Start,
    engine: EngineStandIn,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    check, failed = failing_once(
        Registrations._wait_for_server, RuntimeError("a bug in the self-check")
    )
    monkeypatch.setattr(Registrations, "_wait_for_server", check)
    start_service()

    # Without its restart, the engines would never be announced to.
    wait_for(lambda: SLUG in engine.services)
    assert failed.is_set()
    assert any(
        "'self-check'" in record.getMessage() and record.exc_info for record in caplog.records
    )
