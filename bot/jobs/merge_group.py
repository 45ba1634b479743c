"""The merge queue's check: `reviewgate` on a merge group's head commit.

A merge group passes only if every pull request in it passes its own gate at its own head,
not at the group's merge commit, which nobody reviewed. Which pull requests a group holds
is read from its branch name and the groups checked before it (`MergeGroupRecord`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from github.PullRequest import PullRequest
from github.Repository import Repository

from bot import render, report
from bot.github import gather
from bot.github.publish import CheckRunPublisher
from bot.jobs.assess import assess
from bot.render import short
from bot.runtime import Runtime
from bot.store.db import MergeGroupRecord, utcnow

# gh-readonly-queue/<base branch>/pr-<number>-<sha of the commit the group was built on>
_QUEUE_REF = re.compile(r"^(?:refs/heads/)?gh-readonly-queue/(?P<base>.+)/pr-(?P<number>\d+)-(?P<sha>[0-9a-f]{40})$")


def group_pulls(
    rt: Runtime, repo: Repository, repo_name: str, data: dict[str, Any]
) -> tuple[list[int] | None, str]:
    """The pull requests a merge group holds, in queue order, or None and why not.

    GitHub names the group's branch after the pull request it adds
    (`gh-readonly-queue/main/pr-7-<sha>`), and builds it on `base_sha`: the base branch's
    tip for the first group in the queue, else the head of the group ahead of it, whose
    pull requests were recorded when that group was checked.
    """
    match = _QUEUE_REF.match(str(data.get("head_ref") or ""))
    if match is None:
        # Plain text: it becomes the check run's title.
        return None, f"the merge group's branch `{render.plain(data.get('head_ref'))}` is not a merge-queue branch"
    number = int(match.group("number"))
    base_sha = str(data.get("base_sha") or match.group("sha"))
    with rt.db.session() as session:
        ahead = session.get(MergeGroupRecord, (repo_name, base_sha))
        if ahead is not None:
            return [*json.loads(ahead.pulls), number], ""
    base_ref = str(data.get("base_ref") or match.group("base")).removeprefix("refs/heads/")
    if gather.branch_tip(repo, base_ref) == base_sha:
        return [number], ""
    return None, (
        f"the merge group is built on `{short(base_sha)}`, which is neither the tip of `{render.plain(base_ref)}` nor "
        "a merge group Reviewgate has checked, so the pull requests ahead of "
        f"#{number} in the queue are unknown"
    )


def check_merge_group(rt: Runtime, repo_name: str, installation_id: int, data: dict[str, Any]) -> str:
    """Report `reviewgate` on the group's head: success only if every PR in it passes its
    gate at its own head (not at the group's merge commit, which nobody reviewed)."""
    head_sha = str(data["head_sha"])
    gh = rt.github.client(installation_id)
    repo = gh.get_repo(repo_name)
    publisher = CheckRunPublisher(
        rt.db, repo, repo_name, head_sha, made_once=rt.github.made_once, app_id=rt.settings.app_id
    )
    publisher.start()
    numbers, why = group_pulls(rt, repo, repo_name, data)
    if numbers is None:
        title = f"Blocked: {why}"
        publisher.complete("failure", title, report.merge_group_summary(title, [], why), [], [report.RECHECK_ACTION])
        return "failure"
    with rt.db.session() as session:
        session.merge(MergeGroupRecord(repo=repo_name, head_sha=head_sha, pulls=json.dumps(numbers), created_at=utcnow()))
    lines: list[tuple[int, str, str, str]] = []  # number, head, conclusion, title
    for number in numbers:
        pull: PullRequest = repo.get_pull(number)
        head = pull.head.sha
        verdict = assess(rt, repo_name, number, repo, pull, head).verdict
        lines.append((number, head, verdict.conclusion, verdict.title))
    failed = [n for n, _, conclusion, _ in lines if conclusion != "success"]
    conclusion = "failure" if failed else "success"
    if failed:
        title = "Blocked: " + ", ".join(f"#{n}" for n in failed) + " does not pass its gate"
        if len(failed) > 1:
            title = title.replace("does not pass its gate", "do not pass their gates")
    else:
        title = f"Passed: {len(lines)} pull request{'s' if len(lines) != 1 else ''} pass their gates"
    summary = report.merge_group_summary(title, lines, "")
    publisher.complete(conclusion, title, summary, [], [report.RECHECK_ACTION])
    with rt.db.session() as session:
        record = session.get(MergeGroupRecord, (repo_name, head_sha))
        if record is not None:
            record.conclusion = conclusion
    return conclusion
