"""Writes to GitHub: the `reviewgate` check run, the sticky PR comment and command replies.

GitHub appends annotations on every update of a check run and never replaces them, so a
run's annotations are remembered (as a digest): an unchanged set updates the run in place,
a different one gets a new run, which GitHub then shows as the commit's `reviewgate` check.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from github import UnknownObjectException
from github.CheckRun import CheckRun
from github.Issue import Issue
from github.IssueComment import IssueComment
from github.PaginatedList import PaginatedList
from github.Repository import Repository

from bot import render, report
from bot.github.client import MadeOnce
from bot.store.db import CheckRunRecord, Database, StickyComment, utcnow

log = logging.getLogger(__name__)

# A run whose annotations are unknown (sent partly, then failed) never matches a digest.
_UNKNOWN = "unknown"
# A run asked of GitHub and not known to exist yet: recorded before the request, with the
# `external_id` the run is created with, so a process killed before it recorded the answer
# leaves the next evaluation a way to find the run instead of making a second one.
_CREATING = "creating:"


class CheckRunPublisher:
    def __init__(
        self, db: Database, repo: Repository, repo_name: str, head_sha: str, details_url: str | None = None, *,
        made_once: MadeOnce,
        app_id: int | None,
    ) -> None:
        self.db = db
        self.made_once = made_once
        self.app_id = app_id
        self.details_url = details_url  # the gate page, GitHub's "Details" link
        self.repo = repo
        self.repo_name = repo_name  # not repo.full_name: reading it would fetch the lazy repo
        self.head_sha = head_sha

    def _record(self) -> CheckRunRecord | None:
        with self.db.session() as session:
            return session.get(CheckRunRecord, (self.repo_name, self.head_sha))

    def _save(self, run_id: int, annotations_digest: str | None) -> None:
        with self.db.session() as session:
            session.merge(
                CheckRunRecord(
                    repo=self.repo_name,
                    head_sha=self.head_sha,
                    check_run_id=run_id,
                    annotations_digest=annotations_digest,
                    updated_at=utcnow(),
                )
            )

    def _create(self, **fields: Any) -> int:
        """A new run, recorded (annotations digest None): its creation is recorded first, so a
        crash between GitHub's answer and the record is mended by `_known` (one run, not two)."""
        if self.details_url:
            fields["details_url"] = self.details_url
        token = secrets.token_hex(16)
        self._save(0, _CREATING + token)
        run = self.made_once(
            lambda: self.repo.create_check_run(
                name=report.CHECK_NAME, head_sha=self.head_sha, external_id=token, **fields
            ),
            lambda: self._made_with(token),
            f"the check run on {self.head_sha[:7]}",
        )
        self._save(int(run.id), None)
        return int(run.id)

    def _made_with(self, token: str) -> CheckRun | None:
        """This commit's run created with `external_id` `token`, if GitHub made it. Only this
        App's runs: another App installed on the repository can name a run `reviewgate` too,
        and copy the token once it can read ours."""
        runs: PaginatedList[CheckRun] = PaginatedList(
            CheckRun, self.repo.requester, f"/repos/{self.repo_name}/commits/{self.head_sha}/check-runs",
            {"check_name": report.CHECK_NAME, "filter": "all", "per_page": 100, "app_id": self.app_id},
            list_item="check_runs",
        )
        return next((run for run in runs if run.external_id == token), None)

    def _known(self) -> CheckRunRecord | None:
        """The record of this commit's run; one whose creation was cut short is completed from
        GitHub (the run made then, if it was), or dropped when GitHub has none."""
        record = self._record()
        if record is None or not (record.annotations_digest or "").startswith(_CREATING):
            return record
        found = self._made_with((record.annotations_digest or "")[len(_CREATING):])
        if found is None:
            with self.db.session() as session:
                gone = session.get(CheckRunRecord, (self.repo_name, self.head_sha))
                if gone is not None:
                    session.delete(gone)
            return None
        log.info("check run %s on %s was created by an evaluation that stopped; it is used", found.id,
                 self.head_sha[:7])
        self._save(int(found.id), None)
        return self._record()

    def _held(self, record: CheckRunRecord, annotations: list[dict[str, Any]]) -> str | None:
        """What a run left unknown by a stopped evaluation holds: "none" of the annotations (it
        can take them all), "all" of them (sent in full before the stop), or None (part, or
        others: a new run is needed). Asked of GitHub only after such a stop."""
        if record.annotations_digest != _UNKNOWN:
            return None
        run = self.repo.get_check_run(record.check_run_id)
        count = run.output.annotations_count if run.output is not None else None
        if count == 0:
            return "none"
        if count != len(annotations) or count > 10 * report.ANNOTATIONS_PER_REQUEST:  # pages to read
            return None
        keys = ("path", "start_line", "end_line", "annotation_level", "title", "message")
        there = [tuple(getattr(a, k) for k in keys) for a in run.get_annotations()]
        return "all" if sorted(there) == sorted(tuple(a.get(k) for k in keys) for a in annotations) else None

    def start(self) -> None:
        """Show the evaluation as in progress, unless this commit already has a run.

        A completed run from an earlier evaluation of the same commit keeps its result until
        the new one is known: its verdict was about the very same code.
        """
        if self._known() is not None:
            return
        self._create(status="in_progress", started_at=utcnow())

    def waiting(self, title: str, summary: str) -> None:
        """Show why the evaluation has not started, on a commit that has no run yet."""
        if self._known() is not None:
            return
        self._create(
            status="queued", output={"title": render.plain(title, render.TITLE_LIMIT), "summary": render.text(summary)}
        )

    def complete(
        self,
        conclusion: str,
        title: str,
        summary: str,
        annotations: list[dict[str, Any]],
        actions: list[dict[str, str]] | None = None,
    ) -> None:
        wanted = report.digest(annotations)
        record = self._known()
        now = utcnow()
        held = self._held(record, annotations) if record is not None else None
        if record is not None and (record.annotations_digest == wanted or held == "all"):
            self._edit(record.check_run_id, conclusion, title, summary, [], now, actions)
            self._save(record.check_run_id, wanted)
            return
        if record is not None and (record.annotations_digest is None or held == "none"):
            run_id = record.check_run_id
        else:
            run_id = self._create(status="in_progress", started_at=now)
        # Until every batch is in, what the run holds is unknown; a failure here makes the
        # next evaluation start a fresh run rather than add to a half-annotated one (GitHub
        # appends annotations and never removes them), unless none or all of them had arrived.
        self._save(run_id, _UNKNOWN)
        self._edit(run_id, conclusion, title, summary, annotations, now, actions)
        self._save(run_id, wanted)

    def _edit(
        self,
        run_id: int,
        conclusion: str,
        title: str,
        summary: str,
        annotations: list[dict[str, Any]],
        now: datetime,
        actions: list[dict[str, str]] | None = None,
    ) -> None:
        run = self.repo.get_check_run(run_id)
        chunks = report.batches(annotations) or [[]]
        # The title is plain text on GitHub's side; the summary is Markdown, already escaped.
        title = render.plain(title, render.TITLE_LIMIT)
        summary = render.bounded(summary, render.SUMMARY_LIMIT)
        # The verdict goes out with the first batch, so the reviewer sees it after one request;
        # GitHub appends the other batches' annotations to the completed run.
        for i, chunk in enumerate(chunks):
            output: dict[str, Any] = {"title": title, "summary": summary}
            if chunk:
                output["annotations"] = chunk
            if i > 0:
                run.edit(output=output)
            elif actions:
                run.edit(
                    status="completed", conclusion=conclusion, completed_at=now, output=output, actions=actions
                )
            else:
                run.edit(status="completed", conclusion=conclusion, completed_at=now, output=output)

    def fail(self, reason: str) -> None:
        """The check must not stay green or pending when the bot could not decide."""
        title = f"could not evaluate: {reason}"
        summary = (
            f"Reviewgate could not evaluate commit `{self.head_sha[:7]}`: {render.text(reason)}\n\n"
            "The check stays failed until an evaluation succeeds. "
            "Use GitHub's *Re-run* on this check to try again."
        )
        record = self._known()
        if record is None or record.annotations_digest not in (None, report.digest([])):
            run_id = self._create(status="in_progress", started_at=utcnow())
        else:
            run_id = record.check_run_id
        self._save(run_id, _UNKNOWN)
        self._edit(run_id, "failure", title, summary, [], utcnow(), [report.RECHECK_ACTION])
        self._save(run_id, report.digest([]))


def publish_comment(
    db: Database,
    repo: Repository,
    repo_name: str,
    number: int,
    outcome: report.Outcome,
    fingerprints: Iterable[str],
    docs_url: str,
    *,
    wrote: Callable[[IssueComment], bool],
    made_once: MadeOnce,
) -> bool:
    """Create or edit the one sticky comment; returns whether GitHub was written to.

    `wrote` tells the App's own comments from others: the marker is found only in those.
    """
    state = report.comment_state(outcome, fingerprints)
    key = (repo_name, number)
    with db.session() as session:
        record = session.get(StickyComment, key)
        known_id, known_state = (record.comment_id, record.state_digest) if record else (None, None)
    if known_state == state:
        return False
    if known_id is None and outcome.conclusion == "success" and not outcome.findings:
        return False  # nothing to say, and no earlier comment of ours to correct
    body = report.comment_body(outcome, docs_url)
    issue = repo.get_issue(number)
    comment_id = None
    if known_id is not None:
        try:
            issue.get_comment(known_id).edit(body)
            comment_id = known_id
        except UnknownObjectException:
            log.info("sticky comment %s on %s#%s was deleted; posting a new one", known_id, repo_name, number)
    if comment_id is None:
        # Found again by its marker, so a lost database row never leads to a second comment;
        # a copy of the marker in someone else's comment is their text, not our summary.
        found = _own(issue, report.STICKY_MARKER, wrote)
        if found is not None:
            found.edit(body)
            comment_id = found.id
        else:
            comment_id = made_once(
                lambda: issue.create_comment(body), lambda: _own(issue, report.STICKY_MARKER, wrote),
                f"the sticky comment on {repo_name}#{number}",
            ).id
    with db.session() as session:
        session.merge(StickyComment(repo=repo_name, number=number, comment_id=comment_id, state_digest=state))
    return True


def acknowledge(
    repo: Repository,
    number: int,
    comment_id: int,
    reactions: Sequence[str],
    replies: Sequence[str],
    *,
    retried: bool,
    wrote: Callable[[IssueComment], bool],
    made_once: MadeOnce,
) -> None:
    """React to a command comment and reply to it once (`replies` joined in one comment).

    GitHub keeps one reaction per kind, so reacting again is harmless. A reply is posted
    once: a retried job first looks for the one an earlier attempt may have posted.
    """
    for content in reactions:
        _post(repo, f"/issues/comments/{comment_id}/reactions", {"content": content})
    if not replies:
        return
    marker = report.REPLY_MARKER.format(comment_id=comment_id)
    issue = repo.get_issue(number)
    # An earlier attempt may have replied before it failed. Only a reply of the App's own
    # counts: anyone can type the marker.
    if retried and _own(issue, marker, wrote) is not None:
        return
    body = render.bounded("\n\n---\n\n".join([marker + "\n" + replies[0], *replies[1:]]), render.COMMENT_LIMIT)
    made_once(
        lambda: _post(repo, f"/issues/{number}/comments", {"body": body}), lambda: _own(issue, marker, wrote),
        f"the reply to comment {comment_id}",
    )


def _own(issue: Issue, marker: str, wrote: Callable[[IssueComment], bool]) -> IssueComment | None:
    """The App's comment on `issue` that starts with `marker`, if there is one."""
    return next((c for c in issue.get_comments() if c.body and c.body.startswith(marker) and wrote(c)), None)


def _post(repo: Repository, path: str, body: dict[str, Any]) -> Any:
    _, data = repo.requester.requestJsonAndCheck("POST", f"{repo.url}{path}", input=body)
    return data
