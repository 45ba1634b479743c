"""Writing the operator's `.env` and the App's private key: owner-only, atomic, durable.

Each file is written whole to a temporary file beside it (created 0600), flushed to disk, and
renamed over the old one, then the directory is flushed too: a crash leaves the old file or
the new one, never half of either, and never a moment where the secret is readable by others.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path

_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")
# Values written without quotes: what GitHub hands out (ids, hex secrets, client ids) and paths.
_PLAIN = re.compile(r"^[A-Za-z0-9_.:/@+=-]*$")


def write_private(path: Path, text: str) -> None:
    """Replace `path` with `text`, owner-only (0600), atomically and durably."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def quoted(value: str) -> str:
    """`value` as a `.env` value that python-dotenv reads back unchanged."""
    if _PLAIN.match(value):
        return value
    if "'" in value or "\n" in value or "\r" in value:
        raise ValueError("a .env value may not hold quotes or line breaks")
    return f"'{value}'"


def updated(text: str, values: Mapping[str, str | None]) -> str:
    """`.env` text with each name of `values` set (None: removed), every other line kept.

    A name's first assignment is replaced in place and later ones dropped (python-dotenv
    would let the last win); names not there yet are appended.
    """
    lines = text.splitlines()
    done: set[str] = set()
    out = []
    for line in lines:
        match = _ASSIGNMENT.match(line)
        name = match.group(1) if match else None
        if name is None or name not in values:
            out.append(line)
            continue
        if name not in done and values[name] is not None:
            out.append(f"{name}={quoted(values[name] or '')}")
        done.add(name)
    out += [f"{name}={quoted(value)}" for name, value in values.items() if name not in done and value is not None]
    return "\n".join(out) + "\n"


def update_env_file(path: Path, values: Mapping[str, str | None]) -> None:
    """Set `values` in the `.env` at `path` (created if missing), keeping its other lines."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    write_private(path, updated(text, values))
