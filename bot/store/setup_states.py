"""The single-use `state` of GitHub's App manifest flow (/setup -> GitHub -> /setup/callback).

A state is 32 random bytes from this server, bound to the browser that asked for it (a nonce
in its cookie): the database keeps SHA-256(state, nonce) and when it was issued. Using one
deletes its row, so a state works once, from that browser, within GitHub's one hour.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select

from bot.store.db import Database, SetupState, utcnow

LIFETIME = timedelta(hours=1)  # GitHub's limit for the whole flow
# /setup answers anyone while no App is configured: a bound on the rows it can make.
MAX_LIVE = 1000
TOKEN_CHARS = 43  # token_urlsafe(32)


def _digest(state: str, nonce: str) -> str:
    return hashlib.sha256(f"{state}\0{nonce}".encode()).hexdigest()


def well_formed(token: str | None) -> bool:
    return (
        token is not None and len(token) == TOKEN_CHARS
        and all(c.isascii() and (c.isalnum() or c in "-_") for c in token)
    )


def issue(db: Database, nonce: str, now: datetime | None = None) -> str:
    """A new state for the browser holding `nonce`."""
    now = now or utcnow()
    state = secrets.token_urlsafe(32)
    with db.session() as session:
        session.execute(delete(SetupState).where(SetupState.created_at < now - LIFETIME))
        live = session.scalar(select(func.count()).select_from(SetupState)) or 0
        if live >= MAX_LIVE:
            oldest = select(SetupState.digest).order_by(SetupState.created_at).limit(live - MAX_LIVE + 1)
            session.execute(delete(SetupState).where(SetupState.digest.in_(oldest.scalar_subquery())))
        session.add(SetupState(digest=_digest(state, nonce), created_at=now))
    return state


def consume(db: Database, state: str | None, nonce: str | None, now: datetime | None = None) -> bool:
    """Whether `state` was issued to the browser holding `nonce`, unused and not expired.
    Either way it can never be used again."""
    if not well_formed(state) or not well_formed(nonce):
        return False
    assert state is not None and nonce is not None
    now = now or utcnow()
    digest = _digest(state, nonce)
    with db.session() as session:
        row = session.get(SetupState, digest, with_for_update=True)
        if row is None or not hmac.compare_digest(row.digest, digest):
            return False
        created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=now.tzinfo)
        # A DELETE that counts its row: of two requests racing with one state, one wins.
        result = cast(CursorResult[Any], session.execute(delete(SetupState).where(SetupState.digest == digest)))
        taken = result.rowcount
        return bool(taken == 1 and now - created <= LIFETIME)
