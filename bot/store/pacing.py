"""The write pacer of `bot.github.traffic`, kept in the database: every process that writes
to GitHub for an installation takes its slots from the same token bucket."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError

from bot.store.db import Database, WriteBudget

# (tokens, last update, now) -> (tokens left, seconds to wait): `bot.github.traffic.Bucket.take`.
Take = Callable[[float, float, float], tuple[float, float]]


class DatabasePacer:
    def __init__(self, db: Database, burst: int, take: Take, fallback_wait: float) -> None:
        self.db = db
        self.burst = burst
        self.take = take
        self.fallback_wait = fallback_wait

    def reserve(self, key: str) -> float:
        for _ in range(3):
            try:
                return self._reserve(key)
            except IntegrityError:
                continue  # another process created the row first: take from it
        return self.fallback_wait  # the database keeps refusing: pace, never burst

    def _reserve(self, key: str) -> float:
        now = time.time()
        with self.db.session() as session:
            row = session.get(WriteBudget, key, with_for_update=True)
            if row is None:
                tokens, wait = self.take(float(self.burst), now, now)
                session.add(WriteBudget(key=key, tokens=tokens, updated=now))
                return wait
            tokens, wait = self.take(row.tokens, row.updated, now)
            row.tokens, row.updated = tokens, now
            return wait
