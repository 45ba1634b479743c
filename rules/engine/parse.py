"""Source bytes to a libcst module: decoding as Python does, and libcst's native parser on a
thread whose stack is large enough for deeply nested code."""

from __future__ import annotations

import io
import threading
import tokenize
from typing import Any

import libcst as cst

PARSE_STACK_BYTES = 512 * 1024 * 1024  # libcst's native parser recurses on the C stack
_stack_lock = threading.Lock()


def decode(source: str | bytes) -> str:
    """The text of a file, in its PEP 263 encoding (UTF-8 by default), without a BOM."""
    if isinstance(source, str):
        return source
    encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
    text = source.decode(encoding)
    return text[1:] if text.startswith("\ufeff") else text


def parse_module(text: str) -> cst.Module:
    """libcst's native parser, on a thread with a large stack so deep code cannot crash it."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["module"] = cst.parse_module(text)
        except BaseException as exc:  # handed back to the caller's thread  # noqa: BLE001
            result["error"] = exc

    with _stack_lock:
        previous = threading.stack_size(PARSE_STACK_BYTES)
        try:
            worker = threading.Thread(target=run, name="reviewgate-parse")
            worker.start()
        finally:
            threading.stack_size(previous)
    worker.join()
    if "error" in result:
        raise result["error"]
    module: cst.Module = result["module"]
    return module
