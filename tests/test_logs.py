import json
import logging

import pytest

from hf_text_to_image.logs import JsonFormatter, RedactingFilter, configure_logging


def make_record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("hf_text_to_image.x", logging.INFO, __file__, 1, message, args, None)


def test_json_formatter_writes_one_json_object() -> None:
    line = JsonFormatter().format(make_record("task %s: generating 🐦", "t-1"))
    entry = json.loads(line)
    assert entry["message"] == "task t-1: generating 🐦"
    assert entry["level"] == "INFO"
    assert entry["logger"] == "hf_text_to_image.x"


def test_redacting_filter_masks_tokens_in_arguments() -> None:
    record = make_record("calling with %s", "Bearer hf_abcdefghijklmnop1234")
    assert RedactingFilter().filter(record)
    assert "hf_abcdefghijklmnop1234" not in record.getMessage()


def test_configure_logging_installs_one_handler(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        configure_logging("INFO", "json")
        configure_logging("INFO", "json")
        ours = [h for h in root.handlers if getattr(h, "_hf_text_to_image", False)]
        assert len(ours) == 1
        ours[0].handle(make_record("token hf_abcdefghijklmnop1234 used"))
        output = capsys.readouterr().err
        assert json.loads(output)["message"] == "token *** used"
    finally:
        for handler in list(root.handlers):
            if handler not in before:
                root.removeHandler(handler)
