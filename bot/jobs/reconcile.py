"""The reconciler: repairs what missed webhooks leave behind.

GitHub does not redeliver a failed delivery by itself, and a delivery can fail for reasons
on either side (our process down, a proxy's timeout, a network split). Every
`REVIEWGATE_RECONCILE_SECONDS` (a Huey periodic task, resolution one minute; the first pass
one interval after start-up) one pass:

1. lists the open pull requests of every repository the App is installed on and queues an
   evaluation for each whose head has no completed `reviewgate` check run of this App (nor an
   evaluation already under way), exactly as a `pull_request` event would;
2. lists the App's webhook deliveries of the last `REVIEWGATE_RECONCILE_REDELIVER_HOURS`
   (`GET /app/hook/deliveries`) and asks GitHub to redeliver each one that never got a 2xx
   and that we never recorded (`POST /app/hook/deliveries/{id}/attempts`), at most
   `MAX_ATTEMPTS` times per delivery. Redelivered events come back through `POST /webhook`,
   signed as always, and deduplicated by their GUID.

Both steps only add work that the normal path would have done; a pass that fails half-way
is repeated by the next one.
"""

from __future__ import annotations

import calendar
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from github.PaginatedList import PaginatedList
from github.Repository import Repository
from requests.utils import parse_header_links

from bot.metrics import RECONCILE_REPAIRS, RECONCILE_RUNS
from bot.report import CHECK_NAME
from bot.runtime import Runtime
from bot.settings import Settings
from bot.store import pages, pull_state
from bot.store.db import Delivery, utcnow
from bot.store.deliveries import Incoming
from bot.store.pull_state import Owed, PullRef

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # redelivery requests per delivery GUID, ours included
MAX_DELIVERY_PAGES = 50  # of 100 deliveries: bounds one pass on a very busy App


@dataclass
class Pass:
    pulls_checked: int = 0
    evaluations: list[tuple[str, int]] = field(default_factory=list)
    redelivered: list[str] = field(default_factory=list)  # GUIDs


def _completed(rt: Runtime, gh_requester: Any, repo: str, head_sha: str) -> bool:
    _, data = gh_requester.requestJsonAndCheck(
        "GET",
        f"/repos/{repo}/commits/{head_sha}/check-runs",
        parameters={"check_name": CHECK_NAME, "app_id": rt.settings.app_id, "per_page": 100},
    )
    runs = data.get("check_runs", []) if isinstance(data, dict) else []
    return any(run.get("status") == "completed" for run in runs)


def _queue(rt: Runtime, repo: str, number: int, installation_id: int, head_sha: str) -> None:
    """Record the evaluation as owed and queue it, as a delivery of a `pull_request` event does."""
    recorded = rt.deliveries.record(
        Incoming(
            guid=f"reconcile:{uuid.uuid4().hex}", event="reconcile", action=None, outcome="queued",
            trigger="reconcile", repo=repo, installation_id=installation_id,
            pulls=(PullRef(repo, number, installation_id, head_sha),),
        )
    )
    seq = recorded.to_queue[0] if recorded.to_queue else None
    if seq is None:
        # The state says a job is waiting, yet the PR was owed for longer than a pass: the
        # job may have been lost; one more is harmless (jobs coalesce when they start).
        seq = pull_state.wanted(rt.db, repo, number)
    rt.queue.enqueue_evaluation(Owed(repo, number, installation_id, head_sha, seq, "reconcile"))


def evaluate_missing(rt: Runtime, result: Pass) -> None:
    app = rt.github
    within = timedelta(seconds=rt.settings.reconcile_seconds)
    for installation in app.integration.get_installations():
        gh = app.client(installation.id)
        repos = PaginatedList(Repository, gh.requester, "/installation/repositories", None, list_item="repositories")
        for repo in repos:
            name = repo.full_name
            for pull in repo.get_pulls(state="open"):
                result.pulls_checked += 1
                head = pull.head.sha
                if _completed(rt, gh.requester, name, head) or pull_state.owed_recently(rt.db, name, pull.number, within):
                    continue
                _queue(rt, name, pull.number, installation.id, head)
                result.evaluations.append((name, pull.number))
                RECONCILE_REPAIRS.labels(kind="evaluation").inc()
                log.info("reconciler: %s#%s has no completed check run on %s; evaluation queued",
                         name, pull.number, head[:7])


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _recent_deliveries(rt: Runtime, since: datetime) -> list[dict[str, Any]]:
    requester = rt.github.integration.requester
    url: str | None = "/app/hook/deliveries"
    params: dict[str, Any] | None = {"per_page": 100}
    found: list[dict[str, Any]] = []
    for _ in range(MAX_DELIVERY_PAGES):
        if url is None:
            break
        headers, page = requester.requestJsonAndCheck("GET", url, parameters=params)
        items = page if isinstance(page, list) else []
        found.extend(item for item in items if isinstance(item, dict))
        oldest = min((t for t in (_parse_time(i.get("delivered_at")) for i in items) if t), default=None)
        if oldest is not None and oldest < since:
            break  # newest first: the rest are older still
        links = parse_header_links(headers.get("link", "") or headers.get("Link", ""))
        url = next((link["url"] for link in links if link.get("rel") == "next"), None)
        params = None  # the next link carries the cursor and per_page
    return [d for d in found if (t := _parse_time(d.get("delivered_at"))) is not None and t >= since]


def redeliver_failed(rt: Runtime, result: Pass) -> None:
    since = utcnow() - timedelta(hours=rt.settings.reconcile_redeliver_hours)
    by_guid: dict[str, list[dict[str, Any]]] = {}
    for delivery in _recent_deliveries(rt, since):
        guid = delivery.get("guid")
        if isinstance(guid, str) and guid:
            by_guid.setdefault(guid, []).append(delivery)
    failed = {
        guid: attempts for guid, attempts in by_guid.items()
        if not any(200 <= int(a.get("status_code") or 0) < 300 for a in attempts) and len(attempts) < MAX_ATTEMPTS
    }
    if not failed:
        return
    with rt.db.session() as session:
        # A delivery we recorded was acted on, whatever GitHub saw of our answer.
        known = {
            guid for (guid,) in session.query(Delivery.guid).filter(
                Delivery.guid.in_(list(failed)), Delivery.outcome != "enqueue-failed"
            )
        }
    requester = rt.github.integration.requester
    for guid, attempts in failed.items():
        if guid in known:
            continue
        latest = max(attempts, key=lambda a: int(a.get("id") or 0))
        requester.requestJsonAndCheck("POST", f"/app/hook/deliveries/{int(latest['id'])}/attempts")
        result.redelivered.append(guid)
        RECONCILE_REPAIRS.labels(kind="redelivery").inc()
        log.info("reconciler: asked GitHub to redeliver %s (%s, last answered %s)",
                 guid, latest.get("event"), latest.get("status_code"))


def reconcile(rt: Runtime) -> Pass:
    """One pass. Raises when GitHub cannot be asked; the next pass tries again."""
    result = Pass()
    try:
        evaluate_missing(rt, result)
        redeliver_failed(rt, result)
    except Exception:
        RECONCILE_RUNS.labels(outcome="failed").inc()
        raise
    RECONCILE_RUNS.labels(outcome="ok").inc()
    pages.mark(rt.db, "reconcile", f"{result.pulls_checked} open PRs checked, {len(result.evaluations)} "
               f"evaluations queued, {len(result.redelivered)} redeliveries asked")
    log.info(
        "reconciler: %d open PRs checked, %d evaluations queued, %d redeliveries asked",
        result.pulls_checked, len(result.evaluations), len(result.redelivered),
    )
    return result


def due(settings: Settings, moment: datetime) -> bool:
    """Whether a pass is due at this minute (Huey asks once a minute, with UTC times)."""
    period = max(1, round(settings.reconcile_seconds / 60))
    minute = calendar.timegm(moment.utctimetuple()) // 60
    return minute % period == 0


def periodic_pass(rt: Runtime) -> None:
    """The queue's periodic task (registered by `bot.jobs.queue`), asked once a minute when `due`."""
    if time.monotonic() - rt.started < rt.settings.reconcile_seconds:
        # At start-up recovery has queued what was owed; the first pass comes one
        # interval later (so a short-lived process, a test's, never runs one by surprise).
        return
    try:
        rt.settings.check_github_app()
    except Exception as exc:  # not configured: nothing to reconcile with; said once per pass
        log.warning("reconciler skipped: %s", exc)
        return
    reconcile(rt)
