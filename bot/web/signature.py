"""GitHub's webhook signature: HMAC-SHA256 of the raw body with the App's webhook secret."""

from __future__ import annotations

import hashlib
import hmac


def verify_signature(secret: bytes, body: bytes, header: str | None) -> bool:
    """Whether `header` (`X-Hub-Signature-256`) signs `body` with `secret`, compared in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.encode())
