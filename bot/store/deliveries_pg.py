"""PostgreSQL: a batch of deliveries recorded in one statement, on an autocommit connection.

`bot.store.deliveries` records a batch with a handful of statements in a transaction. On
SQLite those are function calls; on PostgreSQL each is a round trip, and under load the
writer thread waits for the interpreter lock after every one of them (the request threads
hold it), so a batch took 10 to 20 of those waits. Here the same bookkeeping is one
statement, so one round trip, committed by the server as it ends (autocommit: a single
statement is its own transaction, with the same durability as a COMMIT).

What it does, as `deliveries.DeliveryLog._write` and `pull_state.Batch.owe` do it:
- a delivery is new unless its GUID is recorded already (a redelivery); a GUID recorded with
  the outcome `enqueue-failed` is recorded again, as new;
- each new delivery bumps `wanted_seq` of each PR it concerns; the first of them queues a
  job (`queued_seq` becomes its seq) unless a queued job has not started yet; the PR keeps
  the installation, head and trigger of the last of them;
- each new push-like delivery records who brought the head (`head_pushes`).

Rows are written in key order, like the locks of the statement path, so two web processes
never wait for each other in a cycle. Deliveries with extra bookkeeping (installation
events, gate jobs) are rare and take the statement path.

Tested against the statement path, batch by batch (tests/store/test_deliveries.py).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, text

from bot.store.pull_state import PullRef


class Item(NamedTuple):
    """What a delivery records (`deliveries.Incoming`, without its extra bookkeeping)."""

    guid: str
    event: str
    action: str | None
    outcome: str
    trigger: str
    repo: str | None
    installation_id: int | None
    pulls: tuple[PullRef, ...]
    # Who brought the head of `pulls[0]`, when it is recorded (a push-like delivery).
    pusher: str | None


class Result(NamedTuple):
    duplicate: bool
    first_outcome: str | None
    to_queue: tuple[int | None, ...]


_RECORD = text("""
WITH
batch AS (
  SELECT * FROM jsonb_to_recordset(CAST(:deliveries AS jsonb)) AS x(
    i int, guid text, event text, action text, repo text, pr int, installation_id bigint, outcome text)
),
prior AS (
  SELECT d.guid, d.outcome FROM deliveries AS d JOIN batch USING (guid)
),
recorded AS (
  INSERT INTO deliveries AS d (guid, event, action, repo, pr, installation_id, received_at, outcome)
  SELECT guid, event, action, repo, pr, installation_id, :now, outcome FROM batch ORDER BY guid
  ON CONFLICT (guid) DO UPDATE SET
    event = excluded.event, action = excluded.action, repo = excluded.repo, pr = excluded.pr,
    installation_id = excluded.installation_id, received_at = excluded.received_at, outcome = excluded.outcome
  WHERE d.outcome = 'enqueue-failed'
  RETURNING guid
),
refs AS (
  SELECT p.* FROM jsonb_to_recordset(CAST(:pulls AS jsonb)) AS p(
    i int, repo text, number int, installation_id bigint, head_sha text, trigger text)
  JOIN batch AS b ON b.i = p.i JOIN recorded AS r ON r.guid = b.guid
),
events AS (
  SELECT DISTINCT ON (repo, number) repo, number, installation_id, head_sha, trigger,
         count(*) OVER (PARTITION BY repo, number) AS count
  FROM refs ORDER BY repo, number, i DESC
),
owed AS (
  INSERT INTO pull_states AS s (
    repo, number, installation_id, wanted_seq, queued_seq, started_seq, done_seq, head_sha, trigger, updated_at)
  SELECT repo, number, installation_id, count, 1, 0, 0, head_sha, trigger, :now FROM events ORDER BY repo, number
  ON CONFLICT (repo, number) DO UPDATE SET
    wanted_seq = s.wanted_seq + excluded.wanted_seq,
    queued_seq = CASE WHEN s.queued_seq > s.started_seq THEN s.queued_seq ELSE s.wanted_seq + 1 END,
    installation_id = excluded.installation_id, head_sha = excluded.head_sha, trigger = excluded.trigger,
    updated_at = excluded.updated_at
  RETURNING repo, number, wanted_seq, queued_seq
),
pushed AS (
  INSERT INTO head_pushes AS h (repo, number, head_sha, pusher, action, received_at)
  SELECT DISTINCT ON (p.repo, p.number, p.head_sha, p.pusher) p.repo, p.number, p.head_sha, p.pusher, p.action, :now
  FROM jsonb_to_recordset(CAST(:pushes AS jsonb)) AS p(i int, repo text, number int, head_sha text, pusher text, action text)
  JOIN batch AS b ON b.i = p.i JOIN recorded AS r ON r.guid = b.guid
  ORDER BY p.repo, p.number, p.head_sha, p.pusher, p.i DESC
  ON CONFLICT (repo, number, head_sha, pusher) DO UPDATE SET action = excluded.action, received_at = excluded.received_at
)
SELECT
  (SELECT coalesce(json_agg(guid), '[]') FROM recorded),
  (SELECT coalesce(json_object_agg(guid, outcome), '{}') FROM prior),
  (SELECT coalesce(json_agg(json_build_array(repo, number, wanted_seq, queued_seq)), '[]') FROM owed)
""")


def record(conn: Connection, items: Sequence[Item], now: datetime) -> list[Result]:
    """Records `items` in one statement (`conn` in autocommit); a result per item, in order."""
    first: dict[str, int] = {}  # GUID -> the index of its first item: a GUID is recorded once
    deliveries: list[dict[str, object]] = []
    pulls: list[dict[str, object]] = []
    pushes: list[dict[str, object]] = []
    for i, item in enumerate(items):
        if item.guid in first:
            continue
        first[item.guid] = i
        deliveries.append({
            "i": i, "guid": item.guid, "event": item.event, "action": item.action, "repo": item.repo,
            "pr": item.pulls[0].number if item.pulls else None, "installation_id": item.installation_id,
            "outcome": item.outcome,
        })
        pulls.extend(
            {"i": i, "repo": ref.repo, "number": ref.number, "installation_id": ref.installation_id,
             "head_sha": ref.head_sha, "trigger": item.trigger}
            for ref in item.pulls
        )
        if item.pusher is not None:
            ref = item.pulls[0]
            pushes.append({"i": i, "repo": ref.repo, "number": ref.number, "head_sha": ref.head_sha,
                           "pusher": item.pusher, "action": (item.action or "")[:32]})
    new, prior, owed = conn.execute(_RECORD, {
        "deliveries": json.dumps(deliveries), "pulls": json.dumps(pulls), "pushes": json.dumps(pushes), "now": now,
    }).one()
    recorded = set(new)
    events = Counter(
        (ref.repo, ref.number) for i, item in enumerate(items) if first[item.guid] == i and item.guid in recorded
        for ref in item.pulls
    )
    # A PR's job was queued by this batch when its queued seq is the one its first event took.
    queued = {
        (repo, number): queued_seq for repo, number, wanted_seq, queued_seq in owed
        if queued_seq == wanted_seq - events[repo, number] + 1
    }
    results = []
    for i, item in enumerate(items):
        if item.guid not in recorded or first[item.guid] != i:
            # A redelivery, of an earlier delivery or of one earlier in this batch. None: another
            # process recorded it while this statement ran.
            was = items[first[item.guid]].outcome if item.guid in recorded else prior.get(item.guid)
            results.append(Result(duplicate=True, first_outcome=was, to_queue=()))
            continue
        to_queue = tuple(queued.pop((ref.repo, ref.number), None) for ref in item.pulls)
        results.append(Result(duplicate=False, first_outcome=None, to_queue=to_queue))
    return results
