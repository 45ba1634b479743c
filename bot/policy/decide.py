"""The gate's policy: a pure function from gathered facts to a verdict that says why.

Everything `decide` needs (reviews, permissions, team memberships, findings, waivers, holds,
digests of earlier evaluations) is gathered by the caller first (`bot.policy.facts`); `decide`
does no I/O, reads no clock and returns the same verdict for the same facts. That keeps every
decision explainable and testable from a table of cases.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from bot import render
from bot.policy import bots
from bot.policy.facts import (
    APPROVED,
    CHANGES_REQUESTED,
    DISMISSED,
    MAX_LISTED_COMMITS,
    CommitFact,
    Facts,
    FindingFact,
    Review,
    Waiver,
    is_bot,
)
from bot.policy.paths import PathIndex
from bot.policy.repo_config import GateConfig, OwnersRule, has_permission
from bot.policy.verdict import (
    FAILURE,
    SUCCESS,
    Condition,
    ReviewerState,
    Verdict,
    people,
    plural,
    summary,
)
from bot.render import short

# Unmet conditions named in the one-line title.
MAX_TITLE_PARTS = 3
_CATEGORIES = {"RG0": "engine", "RG1": "time", "RG2": "storage"}


def reviewer_states(facts: Facts, config: GateConfig) -> tuple[ReviewerState, ...]:
    """Per reviewer, the latest APPROVED / CHANGES_REQUESTED / DISMISSED review, judged.

    COMMENTED (and PENDING) reviews do not change a reviewer's state. A DISMISSED latest
    review is kept so the summary can say so; it neither approves nor blocks.
    """
    ordered = sorted(enumerate(facts.reviews), key=lambda pair: (pair[1].submitted_at, pair[0]))
    latest: dict[str, Review] = {}
    for _, review in ordered:
        if review.state in (APPROVED, CHANGES_REQUESTED, DISMISSED):
            latest[review.user.casefold()] = review
    permissions = {login.casefold(): perm for login, perm in facts.permissions.items()}
    states = []
    for key in sorted(latest):
        review = latest[key]
        excluded = _excluded(review, facts, config, permissions)
        fresh, note = _freshness(review, facts, config)
        pushed = _own_push(review, facts, config) if review.state == APPROVED and not excluded else ""
        states.append(ReviewerState(review.user, review, excluded, fresh, note, pushed))
    return tuple(states)


def _excluded(review: Review, facts: Facts, config: GateConfig, permissions: Mapping[str, str]) -> str:
    if review.user.casefold() == facts.author.casefold():
        return "the PR author"
    if is_bot(review.user, review.user_type):
        return "a bot"
    permission = permissions.get(review.user.casefold(), "none")
    minimum = config.approvals.min_permission
    if not has_permission(permission, minimum):
        return f"has {permission} permission, {minimum} needed"
    return ""


# GitHub's account for commits made on github.com (web edits, "Update branch"): the person is
# the commit's author, so the committer says nothing about who wrote it.
WEB_FLOW = "web-flow"


def _own_push(review: Review, facts: Facts, config: GateConfig) -> str:
    """Why an approval does not count because its reviewer pushed or wrote unreviewed work.

    Like GitHub's "require approval of the most recent reviewable push": the reviewer must not
    have pushed the head, nor authored or committed the head or any commit after the one
    they approved. When the approved commit is not among the PR's commits (a force-push
    replaced it), every listed commit counts as after it. When GitHub could not list every
    commit, the unlisted ones might be theirs: the approval does not count (fail closed).
    """
    if config.approvals.last_pusher_counts:
        return ""
    me = review.user.casefold()
    who = render.login(review.user)
    if any(p.casefold() == me for p in facts.head_pushers):
        return f"{who} pushed the latest commit"
    shas = [c.sha for c in facts.commits]
    after = facts.commits[shas.index(review.commit_id) + 1 :] if review.commit_id in shas else facts.commits
    # The head itself too: approving it does not clear its own author or committer.
    after += tuple(c for c in facts.commits if c.sha == facts.head_sha and c not in after)
    gone = bool(review.commit_id) and review.commit_id not in shas
    for commit in reversed(after):  # the newest first
        role = _role(commit, me)
        if not role:
            continue
        if commit.sha == facts.head_sha:
            return f"{who} {role} the latest commit `{short(commit.sha)}`"
        what = f"{role} {'commit ' if role == 'authored' else ''}`{short(commit.sha)}`"
        if gone:
            return (
                f"{who} {what}, and the approved commit `{short(review.commit_id)}` is no longer in the "
                "pull request"
            )
        return f"{who} {what} after approving"
    if not facts.commits_complete:
        return (
            f"not every commit of the pull request could be listed (GitHub lists at most {MAX_LISTED_COMMITS}), "
            f"so it cannot be shown that {who} authored or committed none after approving"
        )
    return ""


def _role(commit: CommitFact, me: str) -> str:
    """Whether the reviewer (casefolded login `me`) authored or committed the commit."""
    if (commit.author or "").casefold() == me:
        return "authored"
    committer = (commit.committer or "").casefold()
    if committer != WEB_FLOW and committer == me:
        return "committed"
    return ""


def _freshness(review: Review, facts: Facts, config: GateConfig) -> tuple[bool, str]:
    head, commit = facts.head_sha, review.commit_id
    if review.state == DISMISSED:
        return False, "dismissed"
    if not commit:
        return False, "stale: the reviewed commit is unknown"
    at = f"at `{short(commit)}`"
    if commit == head:
        return _same_head(review, facts, config, at)
    if review.state != APPROVED:
        return True, at
    if not config.approvals.dismiss_stale:
        return True, f"{at}; counts because `approvals.dismiss_stale` is off"
    recorded = facts.digests.get(commit)
    if recorded and facts.head_digest and recorded == facts.head_digest:
        return True, f"{at}; carried over: the PR's changes at `{short(head)}` are identical"
    if recorded:
        return False, f"{at}; stale: the PR's changes differ at `{short(head)}`"
    return False, f"{at}; stale: `{short(commit)}` was never evaluated, so an unchanged diff cannot be shown"


def _same_head(review: Review, facts: Facts, config: GateConfig, at: str) -> tuple[bool, str]:
    """An approval of the head counts unless the pull request's base changed after it and brought
    a different diff (retargeted onto a branch that lacks what it was stacked on)."""
    seen = facts.review_digests.get(review.id)
    if seen is None or not facts.head_digest:
        return True, f"{at} (the latest commit)"
    if seen == facts.head_digest:
        if facts.base_ref:
            return True, f"{at} (the latest commit); the changes are identical against {render.code(facts.base_ref)}"
        return True, f"{at} (the latest commit)"
    if review.state == APPROVED and config.approvals.dismiss_stale:
        return False, (
            f"{at}; stale: the base changed to {render.code(facts.base_ref or facts.default_branch)} since, and the "
            "pull request's changes differ"
        )
    return True, f"{at} (the latest commit)"


@dataclass(frozen=True)
class _Part:
    condition: Condition
    phrase: str  # for the title when unmet


def _members(users: Iterable[str], teams: Iterable[str], facts: Facts) -> tuple[set[str], list[str]]:
    """Logins (casefolded) of `users` and `teams`, and the teams whose membership is unknown."""
    known = {team.casefold(): members for team, members in facts.team_members.items()}
    out = {u.casefold() for u in users}
    unknown = []
    for team in teams:
        members = known.get(team.casefold())
        if members is None:
            unknown.append(team)
        else:
            out.update(m.casefold() for m in members)
    return out, unknown


def _who(users: Sequence[str], teams: Sequence[str]) -> str:
    names = [render.login(u) for u in users] + [f"a member of {render.text(t)}" for t in teams]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " or " + names[-1]


def _category_phrase(findings: Sequence[FindingFact]) -> str:
    counts: dict[str, int] = {}
    for finding in findings:
        category = _CATEGORIES.get(finding.code.upper()[:3], "other")
        counts[category] = counts.get(category, 0) + 1
    order = ["time", "storage", "engine", "other"]
    parts = [f"{counts[c]} {c}" for c in order if c in counts]
    noun = "finding" if len(findings) == 1 else "findings"
    if len(parts) == 1:
        return f"{parts[0]} {noun}"
    return f"{', '.join(parts[:-1])} and {parts[-1]} {noun}"


def _waive_commands(findings: Sequence[FindingFact]) -> str:
    codes = sorted({f.code.upper() for f in findings})
    return ", ".join(render.code(f"/gate waive {code} <reason>") for code in codes)


def decide(facts: Facts, config: GateConfig) -> Verdict:
    if facts.config_error:
        return _config_failure(facts)
    head = short(facts.head_sha)
    states = reviewer_states(facts, config)
    approvers = [s for s in states if s.approves]
    approver_keys = {s.login.casefold(): s.login for s in approvers}
    notes: list[str] = []

    honoured: list[Waiver] = []
    ignored: list[Waiver] = []
    for waiver in facts.waivers:
        if waiver.by.casefold() == facts.author.casefold() or is_bot(waiver.by):
            ignored.append(waiver)
        else:
            honoured.append(waiver)
    # The oldest matching waiver is credited, whatever order the waivers were gathered in.
    honoured.sort(key=lambda w: (w.created_at, w.pattern, w.by))
    blocking = [f for f in facts.findings if f.severity == "error" and not f.suppressed]
    covered: dict[int, Waiver] = {}  # index in `blocking` -> the waiver covering it
    for index, finding in enumerate(blocking):
        for waiver in honoured:
            if finding.code.upper().startswith(waiver.pattern.upper()) and finding.fingerprint in waiver.fingerprints:
                covered[index] = waiver
                break
    unwaived = [f for i, f in enumerate(blocking) if i not in covered]
    unwaived.sort(key=lambda f: (f.path, f.line, f.code))
    on_error = config.findings.on_error
    escalated = on_error == "escalate" and bool(unwaived)

    parts: list[_Part] = [p for p in (_listing_part(facts), _time_part(facts)) if p is not None]
    parts.append(_hold_part(facts))
    bot_rule = bots.allowance(facts, config)
    approvals_config = config
    if bot_rule is not None and config.approvals.required > 1:
        approvals_config = replace(config, approvals=replace(config.approvals, required=1))
    parts.append(_approvals_part(facts, approvals_config, states, approvers, escalated, unwaived))
    parts.append(_changes_requested_part(states))
    changed = PathIndex(facts.changed_paths)
    for index, rule in enumerate(config.owners):
        part = _owners_part(index, rule, changed, facts, approver_keys, notes)
        if part:
            parts.append(part)
    if escalated and config.findings.risk_owners:
        parts.append(_risk_owners_part(facts, config, approver_keys, unwaived, notes))
    if on_error == "block":
        parts.append(_findings_part(unwaived))
    if facts.proposed_config_error:
        parts.append(_proposed_config_part(facts.proposed_config_error))

    conditions = tuple(p.condition for p in parts)
    unmet = [p for p in parts if not p.condition.met]
    if unmet:
        conclusion = FAILURE
        phrases = [p.phrase for p in unmet[:MAX_TITLE_PARTS]]
        if len(unmet) > MAX_TITLE_PARTS:
            phrases.append(f"{plural(len(unmet) - MAX_TITLE_PARTS, 'more condition')}")
        title = "Blocked: " + "; ".join(phrases)
        if escalated and not any(p.condition.key == "findings" for p in unmet):
            title += f" ({_category_phrase(unwaived)} not waived)"
    else:
        conclusion = SUCCESS
        title = _success_title(facts, approvers, covered, unwaived, on_error)

    if facts.config_changed_by_pr:
        notes.append(
            "This pull request changes `.github/reviewgate.yml`. It is evaluated with the version on "
            "the default branch; the change takes effect once merged."
        )
    if facts.proposed_outcome is not None:
        would, would_title = facts.proposed_outcome
        notes.append(
            f"With this policy, this pull request would be: **{render.text(would)}**: {render.quoted(would_title)}"
        )
    if facts.base_ref and facts.default_branch and facts.base_ref != facts.default_branch:
        notes.append(
            f"The diff is computed against {render.code(facts.base_ref)} (this pull request is stacked on another "
            f"branch); the policy is the default branch's ({render.code(facts.default_branch)})."
        )
    elif facts.base_ref:
        notes.append(f"The diff is computed against {render.code(facts.base_ref)}, the pull request's base since it changed.")
    if bot_rule is not None:
        notes.append(
            f"Opened by {render.login(bot_rule.login)} and changing only the paths listed for it under `bots:`: "
            f"one person's approval is enough (`approvals.required` is {config.approvals.required} for other "
            "pull requests). A pass on these terms is recorded in the audit."
        )
    for waiver in ignored:
        notes.append(
            f"The waiver of {render.code(waiver.pattern)} by {render.login(waiver.by)} is not honoured: "
            "the PR author and bots may not waive findings."
        )
    text = summary(facts, config, title, conditions, states, unwaived, covered, honoured, notes, head)
    return Verdict(conclusion, title, conditions, text)


def _proposed_config_part(error: str) -> _Part:
    return _Part(
        Condition(
            "proposed_config",
            False,
            f"The changed `.github/reviewgate.yml` is invalid: {render.quoted(error)}",
            "Fix the file in this pull request (the annotation marks the line): merged as it is, it would "
            "fail the check of every pull request.",
        ),
        "the changed `.github/reviewgate.yml` is invalid",
    )


def _config_failure(facts: Facts) -> Verdict:
    message = render.plain(facts.config_error or "")
    condition = Condition(
        key="config",
        met=False,
        text=f"Invalid configuration: {render.quoted(facts.config_error or '')}",
        unblock=(
            "Fix `.github/reviewgate.yml` on the default branch (a pull request cannot change "
            "its own gate), then comment `/gate recheck`."
        ),
    )
    title = f"Blocked: invalid configuration: {message}"
    text = "\n".join(
        [
            f"## ✗ {render.text(title)}",
            "",
            "The gate cannot be evaluated, so it fails closed.",
            "",
            f"- {condition.line}",
            f"  - To unblock: {condition.unblock}",
            "",
        ]
    )
    return Verdict(FAILURE, title, (condition,), text)


# Files named in a condition; the summary's "Not analysed" section lists every one.
MAX_NAMED_FILES = 10


def _listing_part(facts: Facts) -> _Part | None:
    listed, total = facts.files_listed, facts.files_total
    if total <= listed:
        return None
    return _Part(
        Condition(
            "files",
            False,
            f"Every changed file evaluated: GitHub listed {listed:,} of the {total:,} files this pull "
            f"request changes; the other {total - listed:,} were never read (not for owners, not for findings)",
            "Split the pull request so that GitHub lists every file (it lists at most 3,000 of a pull "
            "request); a change this large cannot pass unread.",
        ),
        f"too large to evaluate: {listed:,} files listed of {total:,}; split the pull request",
    )


def _time_part(facts: Facts) -> _Part | None:
    late = sorted(facts.out_of_time)
    if not late:
        return None
    named = ", ".join(f"`{path}`" for path in late[:MAX_NAMED_FILES])
    if len(late) > MAX_NAMED_FILES:
        named += f" and {len(late) - MAX_NAMED_FILES:,} more"
    return _Part(
        Condition(
            "time",
            False,
            f"Every changed Python file analysed: {plural(len(late), 'file')} not analysed before the "
            f"evaluation's time budget ran out: {named}",
            "`/gate recheck` (or the Re-check button): files analysed so far are cached, so the next "
            "evaluation goes on from there. Operators can raise `REVIEWGATE_EVALUATION_SECONDS`.",
        ),
        f"{plural(len(late), 'file')} not analysed in time",
    )


def _hold_part(facts: Facts) -> _Part:
    hold = facts.hold
    if hold is None:
        return _Part(Condition("hold", True, "Not on hold", ""), "")
    reason = f": {render.text(hold.reason)}" if hold.reason.strip() else ""
    return _Part(
        Condition(
            "hold",
            False,
            f"On hold by {render.login(hold.by)}{reason}",
            f"`/gate unhold` by {render.login(hold.by)}, or by someone with at least their permission "
            "who is not the PR author.",
        ),
        f"on hold by @{render.plain(hold.by)}",
    )


def _approvals_part(
    facts: Facts,
    config: GateConfig,
    states: Sequence[ReviewerState],
    approvers: Sequence[ReviewerState],
    escalated: bool,
    unwaived: Sequence[FindingFact],
) -> _Part:
    head = short(facts.head_sha)
    base = config.approvals.required
    extra = config.findings.escalate_by if escalated else 0
    required = base + extra
    have = len(approvers)
    why = f" ({base} + {extra} for {plural(len(unwaived), 'unwaived error finding')})" if extra else ""
    if required == 0:
        return _Part(Condition("approvals", True, "No peer approval required (`approvals.required: 0`)", ""), "")
    if config.approvals.dismiss_stale:
        text = f"{plural(required, 'peer approval')} of the latest commit `{head}`{why}"
    else:
        text = f"{plural(required, 'peer approval')}{why} (of any commit: `approvals.dismiss_stale` is off)"
    text += f": {have} ({people([s.login for s in approvers])})" if approvers else ": none yet"
    if have >= required:
        return _Part(Condition("approvals", True, text, ""), "")
    missing = required - have
    more = " more" if have else ""
    unblock = (
        f"{plural(missing, 'reviewer')} with {config.approvals.min_permission} permission, other "
        f"than the author {render.login(facts.author)}, approve{'s' if missing == 1 else ''} `{head}`."
    )
    stale = [
        s.login for s in states if s.review.state == APPROVED and not s.excluded and not s.fresh and not s.pushed
    ]
    if stale:
        unblock += f" {people(stale)} approved an earlier commit: approving again counts."
    own = [s.login for s in states if s.review.state == APPROVED and not s.excluded and s.pushed]
    if own:
        unblock += (
            f" Someone other than {people(own)} must approve: an approval does not count from whoever "
            "pushed the latest commit or authored or committed work after approving."
        )
        if not facts.commits_complete:
            unblock += (
                f" GitHub lists at most {MAX_LISTED_COMMITS} commits of a pull request: squash or split "
                "this one so that every commit can be checked."
            )
    phrase = f"needs {missing}{more} peer approval{'s' if missing != 1 else ''} on {head}"
    return _Part(Condition("approvals", False, text, unblock), phrase)


def _changes_requested_part(states: Sequence[ReviewerState]) -> _Part:
    blockers = [s.login for s in states if s.blocks]
    if not blockers:
        return _Part(Condition("changes_requested", True, "No changes requested", ""), "")
    who = people(blockers)
    return _Part(
        Condition(
            "changes_requested",
            False,
            f"Changes requested by {who}",
            f"{who} approve{'s' if len(blockers) == 1 else ''} the latest commit, "
            "or someone with write permission dismisses the review.",
        ),
        f"changes requested by {who}",
    )


def _owners_part(
    index: int,
    rule: OwnersRule,
    changed: PathIndex,
    facts: Facts,
    approver_keys: Mapping[str, str],
    notes: list[str],
) -> _Part | None:
    matched = changed.count(rule.paths)
    if not matched:
        return None
    members, unknown = _members(rule.users, rule.teams, facts)
    for team in unknown:
        notes.append(f"The membership of {render.text(team)} is unknown; its members' approvals could not be counted.")
    have = sorted(login for key, login in approver_keys.items() if key in members)
    globs = ", ".join(render.code(g) for g in rule.paths)
    who = _who(rule.users, rule.teams)
    text = (
        f"{plural(rule.count, 'approval')} from the owners of {globs} ({who}) for "
        f"{plural(matched, 'changed file')}: "
    )
    text += f"{len(have)} ({people(have)})" if have else "none yet"
    if len(have) >= rule.count:
        return _Part(Condition(f"owners.{index}", True, text, ""), "")
    missing = rule.count - len(have)
    return _Part(
        Condition(
            f"owners.{index}",
            False,
            text,
            f"{plural(missing, 'more approval')} of the latest commit from {who} "
            "(the PR author does not count).",
        ),
        f"needs {plural(missing, 'owner approval')} for {render.plain(rule.paths[0])}",
    )


def _risk_owners_part(
    facts: Facts,
    config: GateConfig,
    approver_keys: Mapping[str, str],
    unwaived: Sequence[FindingFact],
    notes: list[str],
) -> _Part:
    owners = config.findings.risk_owners
    users = [o for o in owners if "/" not in o]
    teams = [o for o in owners if "/" in o]
    members, unknown = _members(users, teams, facts)
    for team in unknown:
        notes.append(f"The membership of {render.text(team)} is unknown; its members' approvals could not be counted.")
    have = sorted(login for key, login in approver_keys.items() if key in members)
    who = _who(users, teams)
    text = f"1 approval from a risk owner ({who}) for {plural(len(unwaived), 'unwaived error finding')}"
    if have:
        return _Part(Condition("risk_owners", True, f"{text}: {render.login(have[0])}", ""), "")
    return _Part(
        Condition(
            "risk_owners",
            False,
            text,
            f"Approval of the latest commit by {who}, or fix or waive the findings "
            f"({_waive_commands(unwaived)}).",
        ),
        "needs 1 risk-owner approval",
    )


def _findings_part(unwaived: Sequence[FindingFact]) -> _Part:
    if not unwaived:
        return _Part(Condition("findings", True, "No unwaived error findings on the changed lines", ""), "")
    codes = ", ".join(sorted({f.code.upper() for f in unwaived}))
    return _Part(
        Condition(
            "findings",
            False,
            f"{plural(len(unwaived), 'error finding')} on the changed lines not waived ({codes})",
            "Fix the code, or a reviewer with write permission who is not the author comments "
            f"{_waive_commands(unwaived)} (a prefix such as `RG2` waives a whole family).",
        ),
        f"{_category_phrase(unwaived)} not waived",
    )


def _success_title(
    facts: Facts,
    approvers: Sequence[ReviewerState],
    covered: Mapping[int, Waiver],
    unwaived: Sequence[FindingFact],
    on_error: str,
) -> str:
    head = short(facts.head_sha)
    if approvers:
        title = f"Passed: approved by {people([s.login for s in approvers][:3])}"
        if len(approvers) > 3:
            title += f" and {len(approvers) - 3} more"
        title += f" on {head}"
    else:
        title = f"Passed: no approval required on {head}"
    if covered:
        title += f"; {plural(len(covered), 'finding')} waived"
    if unwaived and on_error == "warn":
        title += f"; {_category_phrase(unwaived)} reported (warn only)"
    elif unwaived:
        title += f"; {_category_phrase(unwaived)} escalated"
    return title


