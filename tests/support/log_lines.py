"""What the Powertools logger (`meterplex.platform.observability.logger`) writes, as parsed JSON
lines: every function loads the same layer module, so one capture sees them all."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from meterplex.platform.observability import logger


@contextmanager
def captured_log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        handler.setStream(previous)
