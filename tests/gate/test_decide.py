"""The gate's policy as a table: facts in, verdict out."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rules
from bot import render
from bot.policy.decide import decide
from bot.policy.facts import (
    CommitFact,
    Facts,
    FindingFact,
    Hold,
    Review,
    Waiver,
    file_digest,
    fingerprint,
)
from bot.policy.paths import glob_match
from bot.policy.repo_config import DEFAULT_CONFIG, GateConfig, OwnersRule, parse_repo_config
from bot.policy.verdict import Verdict

HEAD = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
OLD = "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"
OLDER = "9999999999999999999999999999999999999999"
FIRST = "1111111111111111111111111111111111111111"

PERMISSIONS = {
    "alice": "write",  # the author
    "bob": "write",
    "carol": "maintain",
    "dave": "admin",
    "erin": "triage",
    "rita": "read",
    "owen": "write",
    "olga": "write",
    "ross": "write",
    "renovate[bot]": "write",
    "ci-helper": "admin",
}


def rv(user: str, state: str = "APPROVED", commit: str = HEAD, at: int = 1, user_type: str = "User") -> Review:
    return Review(user, user_type, state, commit, f"2026-03-01T10:{at:02d}:00Z", id=at)


def finding(code: str, fp: str, severity: str = "error", path: str = "app/store.py", line: int = 10,
            suppressed: bool = False) -> FindingFact:
    return FindingFact(code, f"slug-{code.lower()}", severity, path, line, f"{code} message", fp, suppressed)


def waiver(pattern: str, *fps: str, by: str = "bob") -> Waiver:
    return Waiver(pattern, "accepted: reviewed by hand", by, frozenset(fps), "2026-03-01T11:00:00Z")


@dataclass
class Case:
    id: str
    reviews: tuple[Review, ...] = ()
    config: str = ""
    facts: dict[str, Any] = field(default_factory=dict)
    ok: bool = False
    unmet: tuple[str, ...] = ()
    title: str = ""  # expected substring of the title
    summary: tuple[str, ...] = ()  # expected substrings of the summary
    title_is: str = ""  # the exact title


OWNERS = "owners:\n  - paths: ['app/storage/**']\n    users: [owen, olga]\n"


def commits(*people: tuple[str | None, str | None]) -> dict[str, Any]:
    """Facts of a PR whose commits FIRST, OLD, HEAD have these (author, committer) accounts."""
    return {"commits": tuple(CommitFact(sha, a, c) for sha, (a, c) in zip((FIRST, OLD, HEAD), people, strict=True))}


ALICE = ("alice", "alice")
BY_ALICE = commits(ALICE, ALICE, ALICE)
BOB_PUSHED = {**BY_ALICE, "head_pushers": ("bob",)}
LAST_PUSHER_COUNTS = "approvals:\n  last_pusher_counts: true\n"
ANY_COMMIT = "approvals:\n  dismiss_stale: false\n"
OWNERS_TEAM = "owners:\n  - paths: ['app/storage/']\n    teams: [octo/storage]\n"
STORAGE_CHANGE = {"changed_paths": ("app/storage/db.py", "README.md")}
ESCALATE = "findings:\n  on_error: escalate\n"
RISK = "findings:\n  on_error: escalate\n  risk_owners: [ross, octo/risk]\n"

CASES = [
    # --- peer approval ---------------------------------------------------------------------
    Case("no reviews", unmet=("approvals",), title_is="Blocked: needs 1 peer approval on a1b2c3d",
         summary=("No reviews yet", "✗ 1 peer approval of the latest commit `a1b2c3d`: none yet")),
    Case("writer approves the head", (rv("bob"),), ok=True, title_is="Passed: approved by @bob on a1b2c3d",
         summary=("✓ at `a1b2c3d` (the latest commit)",)),
    Case("maintainer approves", (rv("carol"),), ok=True),
    Case("admin approves", (rv("dave"),), ok=True),
    Case("triage permission does not count", (rv("erin"),), unmet=("approvals",),
         summary=("not counted: has triage permission, write needed",)),
    Case("read permission does not count", (rv("rita"),), unmet=("approvals",)),
    Case("unknown permission does not count", (rv("mallory"),), unmet=("approvals",),
         summary=("has none permission",)),
    Case("min_permission maintain excludes writers", (rv("bob"),),
         config="approvals:\n  min_permission: maintain\n", unmet=("approvals",)),
    Case("min_permission read admits readers", (rv("rita"),), config="approvals:\n  min_permission: read\n",
         ok=True),
    Case("the author's approval never counts", (rv("alice"),), unmet=("approvals",),
         summary=("not counted: the PR author",)),
    Case("the author is recognised whatever the case", (rv("ALICE"),), unmet=("approvals",)),
    Case("a Bot-typed reviewer never counts", (rv("ci-helper", user_type="Bot"),), unmet=("approvals",),
         summary=("not counted: a bot",)),
    Case("a [bot] login never counts", (rv("renovate[bot]"),), unmet=("approvals",)),
    Case("COMMENTED after an approval keeps it", (rv("bob", at=1), rv("bob", "COMMENTED", at=2)), ok=True),
    Case("DISMISSED after an approval removes it", (rv("bob", at=1), rv("bob", "DISMISSED", at=2)),
         unmet=("approvals",), summary=("✗ dismissed",)),
    Case("approval after a dismissal counts", (rv("bob", "DISMISSED", at=1), rv("bob", at=2)), ok=True),
    Case("changes requested after an approval blocks",
         (rv("bob", at=1), rv("bob", "CHANGES_REQUESTED", at=2)),
         unmet=("approvals", "changes_requested"), title="changes requested by @bob"),
    Case("approval after changes requested unblocks",
         (rv("bob", "CHANGES_REQUESTED", at=1), rv("bob", at=2)), ok=True),
    Case("COMMENTED after changes requested still blocks",
         (rv("bob", "CHANGES_REQUESTED", at=1), rv("bob", "COMMENTED", at=2), rv("carol", at=3)),
         unmet=("changes_requested",), summary=("@bob approves the latest commit, or someone with write",)),
    Case("a dismissed change request no longer blocks",
         (rv("bob", "CHANGES_REQUESTED", at=1), rv("bob", "DISMISSED", at=2), rv("carol", at=3)), ok=True),
    Case("changes requested by a read-only user do not block",
         (rv("rita", "CHANGES_REQUESTED"), rv("bob", at=2)), ok=True),
    Case("changes requested on an older commit still block",
         (rv("dave", "CHANGES_REQUESTED", commit=OLD, at=1), rv("bob", at=2)), unmet=("changes_requested",)),
    Case("submission time orders the reviews, not the list order",
         (rv("bob", at=5), rv("bob", "CHANGES_REQUESTED", at=1)), ok=True),
    Case("two approvals required, one given", (rv("bob"),), config="approvals:\n  required: 2\n",
         unmet=("approvals",), title_is="Blocked: needs 1 more peer approval on a1b2c3d"),
    Case("two approvals required, two given", (rv("bob"), rv("carol", at=2)),
         config="approvals:\n  required: 2\n", ok=True, title="approved by @bob and @carol"),
    Case("one reviewer approving twice counts once", (rv("bob", at=1), rv("bob", at=2)),
         config="approvals:\n  required: 2\n", unmet=("approvals",)),
    Case("no approval required", config="approvals:\n  required: 0\n", ok=True,
         title_is="Passed: no approval required on a1b2c3d"),
    # --- the latest work ---------------------------------------------------------------------
    Case("approval of an older commit, digest unknown, is stale", (rv("bob", commit=OLD),),
         unmet=("approvals",), summary=("stale: `0f0f0f0` was never evaluated",
                                        "@bob approved an earlier commit: approving again counts")),
    Case("approval carried over when the PR's changes are identical", (rv("bob", commit=OLD),),
         facts={"digests": {OLD: "d1", HEAD: "d1"}, "head_digest": "d1"}, ok=True,
         summary=("carried over: the PR's changes at `a1b2c3d` are identical",)),
    Case("approval of an older commit whose changes differ is stale", (rv("bob", commit=OLD),),
         facts={"digests": {OLD: "d1"}, "head_digest": "d2"}, unmet=("approvals",),
         summary=("stale: the PR's changes differ",)),
    Case("an empty digest never carries an approval over", (rv("bob", commit=OLD),),
         facts={"digests": {OLD: ""}, "head_digest": ""}, unmet=("approvals",)),
    Case("a digest of a different older commit does not help", (rv("bob", commit=OLDER),),
         facts={"digests": {OLD: "d1"}, "head_digest": "d1"}, unmet=("approvals",)),
    Case("dismiss_stale off counts approvals of any commit", (rv("bob", commit=OLD),),
         config="approvals:\n  dismiss_stale: false\n", ok=True,
         summary=("counts because `approvals.dismiss_stale` is off",)),
    Case("an approval without a commit is stale", (rv("bob", commit=""),), unmet=("approvals",),
         summary=("the reviewed commit is unknown",)),
    Case("a stale approval next to a fresh one", (rv("bob", commit=OLD), rv("carol", at=2)), ok=True,
         summary=("| @bob | approved | ✗ at `0f0f0f0`; stale",)),
    # --- whoever pushed or committed last ------------------------------------------------------
    Case("the pusher of the head cannot approve it", (rv("bob"),), facts=BOB_PUSHED, unmet=("approvals",),
         title_is="Blocked: needs 1 peer approval on a1b2c3d",
         summary=("| @bob | approved | ✗ not counted: @bob pushed the latest commit |",
                  "Someone other than @bob must approve")),
    Case("the pusher is recognised whatever the case", (rv("Bob"),), facts={**BY_ALICE, "head_pushers": ("bOB",)},
         unmet=("approvals",), summary=("✗ not counted: @Bob pushed the latest commit",)),
    Case("another reviewer's approval counts", (rv("bob"), rv("carol", at=2)), facts=BOB_PUSHED, ok=True,
         title_is="Passed: approved by @carol on a1b2c3d"),
    Case("everyone who pushed the head is excluded", (rv("bob"), rv("carol", at=2)),
         facts={**BY_ALICE, "head_pushers": ("bob", "carol")}, unmet=("approvals",),
         summary=("Someone other than @bob and @carol must approve",)),
    Case("the pusher is known but the commits were not listed", (rv("bob"),), facts={"head_pushers": ("bob",)},
         unmet=("approvals",)),
    Case("the author of the head commit cannot approve it", (rv("bob"),), facts=commits(ALICE, ALICE, ("bob", "alice")),
         unmet=("approvals",), summary=("✗ not counted: @bob authored the latest commit `a1b2c3d`",)),
    Case("the committer of the head commit cannot approve it", (rv("bob"),),
         facts=commits(ALICE, ALICE, ("alice", "BOB")), unmet=("approvals",),
         summary=("✗ not counted: @bob committed the latest commit `a1b2c3d`",)),
    Case("the web-flow committer names nobody", (rv("bob"),), facts=commits(ALICE, ALICE, ("alice", "web-flow")),
         ok=True),
    Case("a web edit is its author's commit", (rv("bob"),), facts=commits(ALICE, ALICE, ("bob", "web-flow")),
         unmet=("approvals",), summary=("@bob authored the latest commit",)),
    Case("commits linked to no account name nobody", (rv("bob"),), facts=commits(ALICE, (None, None), (None, None)),
         ok=True),
    Case("a commit authored after approving", (rv("bob", commit=FIRST),), config=ANY_COMMIT,
         facts=commits(ALICE, ("bob", "alice"), ALICE), unmet=("approvals",),
         summary=("| @bob | approved | ✗ not counted: @bob authored commit `0f0f0f0` after approving |",)),
    Case("a commit committed after approving", (rv("bob", commit=FIRST),), config=ANY_COMMIT,
         facts=commits(ALICE, ("alice", "bob"), ALICE), unmet=("approvals",),
         summary=("✗ not counted: @bob committed `0f0f0f0` after approving",)),
    Case("an approval after the reviewer's own commit counts", (rv("bob"),), facts=commits(("bob", "bob"), ALICE, ALICE),
         ok=True),
    Case("an approval of the reviewer's own commit counts once others built on it", (rv("bob", commit=OLD),),
         config=ANY_COMMIT, facts=commits(ALICE, ("bob", "bob"), ALICE), ok=True),
    Case("an approval whose commit was force-pushed away: every commit is after it", (rv("bob", commit=OLDER),),
         facts={**commits(ALICE, ("bob", "bob"), ALICE), "digests": {OLDER: "d1"}, "head_digest": "d1"},
         unmet=("approvals",),
         summary=("@bob authored commit `0f0f0f0`, and the approved commit `9999999` is no longer in the pull request",)),
    Case("an approval carried over past commits by others counts", (rv("bob", commit=OLDER),),
         facts={**BY_ALICE, "digests": {OLDER: "d1"}, "head_digest": "d1"}, ok=True),
    Case("an incomplete commit list fails closed", (rv("bob"),), facts={"commits_complete": False},
         unmet=("approvals",),
         summary=("it cannot be shown that @bob authored or committed none after approving",
                  "squash or split this one")),
    Case("an incomplete commit list still names what is known", (rv("bob"),),
         facts={**BOB_PUSHED, "commits_complete": False}, unmet=("approvals",),
         summary=("✗ not counted: @bob pushed the latest commit",)),
    Case("last_pusher_counts lets the pusher approve", (rv("bob"),), config=LAST_PUSHER_COUNTS,
         facts={**commits(ALICE, ALICE, ("bob", "bob")), "head_pushers": ("bob",)}, ok=True,
         summary=("✓ at `a1b2c3d` (the latest commit)",)),
    Case("last_pusher_counts does not need the commits", (rv("bob"),), config=LAST_PUSHER_COUNTS,
         facts={"commits_complete": False}, ok=True),
    Case("a bot's push does not affect a person's approval", (rv("bob"),),
         facts={**commits(ALICE, ALICE, ("renovate[bot]", "renovate[bot]")), "head_pushers": ("renovate[bot]",)},
         ok=True),
    Case("a bot that pushed is reported as a bot", (rv("renovate[bot]"),),
         facts={"head_pushers": ("renovate[bot]",)}, unmet=("approvals",), summary=("✗ not counted: a bot",)),
    Case("the author who pushed is reported as the author", (rv("alice"),), facts={"head_pushers": ("alice",)},
         unmet=("approvals",), summary=("✗ not counted: the PR author",)),
    Case("changes requested by the pusher still block", (rv("bob", "CHANGES_REQUESTED"), rv("carol", at=2)),
         facts=BOB_PUSHED, unmet=("changes_requested",)),
    Case("a pusher's approval does not satisfy owners", (rv("owen"), rv("bob", at=2)), config=OWNERS,
         facts={**STORAGE_CHANGE, **BY_ALICE, "head_pushers": ("owen",)}, unmet=("owners.0",)),
    # --- owners ------------------------------------------------------------------------------
    Case("an owner approves owned paths", (rv("owen"),), config=OWNERS, facts=STORAGE_CHANGE, ok=True,
         summary=("✓ 1 approval from the owners of `app/storage/**` (@owen or @olga) for 1 changed file",)),
    Case("a non-owner's approval does not satisfy owners", (rv("bob"),), config=OWNERS, facts=STORAGE_CHANGE,
         unmet=("owners.0",), title="needs 1 owner approval for app/storage/**",
         summary=("1 more approval of the latest commit from @owen or @olga",)),
    Case("owners do not apply to other paths", (rv("bob"),), config=OWNERS,
         facts={"changed_paths": ("app/views.py",)}, ok=True),
    Case("a team member approves owned paths", (rv("bob"),), config=OWNERS_TEAM,
         facts={**STORAGE_CHANGE, "team_members": {"octo/storage": frozenset({"Bob"})}}, ok=True),
    Case("team membership unknown fails closed", (rv("bob"),), config=OWNERS_TEAM, facts=STORAGE_CHANGE,
         unmet=("owners.0",), summary=("The membership of octo/storage is unknown",)),
    Case("owners count 2 with one owner", (rv("owen"),),
         config=OWNERS.replace("users: [owen, olga]", "users: [owen, olga]\n    count: 2"),
         facts=STORAGE_CHANGE, unmet=("owners.0",)),
    Case("owners count 2 with two owners", (rv("owen"), rv("olga", at=2)),
         config=OWNERS.replace("users: [owen, olga]", "users: [owen, olga]\n    count: 2"),
         facts=STORAGE_CHANGE, ok=True),
    Case("an owner who is the author cannot approve their own change", (rv("alice"), rv("bob", at=2)),
         config=OWNERS.replace("[owen, olga]", "[alice, owen]"), facts=STORAGE_CHANGE, unmet=("owners.0",)),
    Case("a stale owner approval does not count", (rv("owen", commit=OLD), rv("bob", at=2)), config=OWNERS,
         facts=STORAGE_CHANGE, unmet=("owners.0",)),
    Case("owner globs match nested files", (rv("bob"),),
         config="owners:\n  - paths: ['**/migrations/*.py']\n    users: [owen]\n",
         facts={"changed_paths": ("app/db/migrations/0001_init.py",)}, unmet=("owners.0",)),
    # --- findings ----------------------------------------------------------------------------
    Case("an unwaived error finding blocks", (rv("bob"),), facts={"findings": (finding("RG201", "f1"),)},
         unmet=("findings",), title_is="Blocked: 1 storage finding not waived",
         summary=("`app/store.py:10` **RG201**", "`/gate waive RG201 <reason>`")),
    Case("warnings do not block", (rv("bob"),), facts={"findings": (finding("RG201", "f1", "warning"),)},
         ok=True, summary=("1 warning or notice annotated",)),
    Case("suppressed errors do not block", (rv("bob"),),
         facts={"findings": (finding("RG201", "f1", suppressed=True),)}, ok=True,
         summary=("1 finding suppressed in the source",)),
    Case("a waiver by exact code covers its fingerprints", (rv("bob"),),
         facts={"findings": (finding("RG201", "f1"),), "waivers": (waiver("RG201", "f1", by="carol"),)},
         ok=True, title_is="Passed: approved by @bob on a1b2c3d; 1 finding waived",
         summary=("`RG201` by @carol: accepted: reviewed by hand (covers 1 finding",)),
    Case("a waiver by prefix covers the family", (rv("bob"),),
         facts={"findings": (finding("RG201", "f1"), finding("RG202", "f2", line=12)),
                "waivers": (waiver("RG2", "f1", "f2"),)}, ok=True, title="2 findings waived"),
    Case("findings on identical lines are counted one by one", (rv("bob"),),
         facts={"findings": (finding("RG201", "same"), finding("RG201", "same", line=30)),
                "waivers": (waiver("RG201", "same"),)}, ok=True, title="2 findings waived",
         summary=("(covers 2 findings at `a1b2c3d`",)),
    Case("a waiver of another prefix covers nothing", (rv("bob"),),
         facts={"findings": (finding("RG201", "f1"),), "waivers": (waiver("RG1", "f1"),)}, unmet=("findings",)),
    Case("a new occurrence pushed later is not covered", (rv("bob"),),
         facts={"findings": (finding("RG201", "f1"), finding("RG201", "f9", line=40)),
                "waivers": (waiver("RG201", "f1"),)},
         unmet=("findings",), summary=("1 error finding on the changed lines not waived (RG201)",)),
    Case("a waiver by the PR author is not honoured", (rv("bob"),),
         facts={"findings": (finding("RG201", "f1"),), "waivers": (waiver("RG201", "f1", by="alice"),)},
         unmet=("findings",), summary=("is not honoured: the PR author and bots may not waive",)),
    Case("mixed categories in the title", (),
         facts={"findings": (finding("RG101", "t1"), finding("RG201", "s1"), finding("RG202", "s2"))},
         unmet=("approvals", "findings"),
         title_is="Blocked: needs 1 peer approval on a1b2c3d; 1 time and 2 storage findings not waived"),
    Case("the design's example title", (),
         facts={"findings": (finding("RG201", "s1"), finding("RG203", "s2", line=20))},
         unmet=("approvals", "findings"),
         title_is="Blocked: needs 1 peer approval on a1b2c3d; 2 storage findings not waived"),
    Case("escalate raises the approvals needed", (rv("bob"),), config=ESCALATE,
         facts={"findings": (finding("RG201", "f1"),)}, unmet=("approvals",),
         title_is="Blocked: needs 1 more peer approval on a1b2c3d (1 storage finding not waived)",
         summary=("2 peer approvals of the latest commit `a1b2c3d` (1 + 1 for 1 unwaived error finding)",)),
    Case("escalate is met by the extra approval", (rv("bob"), rv("carol", at=2)), config=ESCALATE,
         facts={"findings": (finding("RG201", "f1"),)}, ok=True, title="1 storage finding escalated"),
    Case("escalate_by 2", (rv("bob"), rv("carol", at=2)), config=ESCALATE + "  escalate_by: 2\n",
         facts={"findings": (finding("RG201", "f1"),)}, unmet=("approvals",)),
    Case("escalate without findings needs the usual approvals", (rv("bob"),), config=ESCALATE, ok=True),
    Case("escalate with waived findings does not escalate", (rv("bob"),), config=ESCALATE,
         facts={"findings": (finding("RG201", "f1"),), "waivers": (waiver("RG201", "f1"),)}, ok=True),
    Case("escalate needs a risk owner when set", (rv("bob"), rv("carol", at=2)), config=RISK,
         facts={"findings": (finding("RG201", "f1"),)}, unmet=("risk_owners",),
         title="needs 1 risk-owner approval", summary=("@ross or a member of octo/risk",)),
    Case("a risk owner's approval satisfies it", (rv("bob"), rv("ross", at=2)), config=RISK,
         facts={"findings": (finding("RG201", "f1"),)}, ok=True),
    Case("a risk team member's approval satisfies it", (rv("bob"), rv("carol", at=2)), config=RISK,
         facts={"findings": (finding("RG201", "f1"),), "team_members": {"octo/risk": frozenset({"carol"})}},
         ok=True),
    Case("warn reports without blocking", (rv("bob"),), config="findings:\n  on_error: warn\n",
         facts={"findings": (finding("RG201", "f1"),)}, ok=True,
         title_is="Passed: approved by @bob on a1b2c3d; 1 storage finding reported (warn only)",
         summary=("reported only (`findings.on_error: warn`)",)),
    # --- hold, config, notes ------------------------------------------------------------------
    Case("a hold blocks", (rv("bob"),), facts={"hold": Hold("carol", "2026-03-01T12:00:00Z", "wait for the migration")},
         unmet=("hold",), title_is="Blocked: on hold by @carol",
         summary=("✗ On hold by @carol: wait for the migration", "`/gate unhold`")),
    Case("an invalid configuration fails closed", (rv("bob"),),
         facts={"config_error": ".github/reviewgate.yml:3: unknown key `approvals.requierd`"},
         unmet=("config",), title_is="Blocked: invalid configuration: .github/reviewgate.yml:3: unknown key "
                                     "`approvals.requierd`",
         summary=("Fix `.github/reviewgate.yml` on the default branch",)),
    Case("a PR changing the config is told it has no effect", (rv("bob"),),
         facts={"config_changed_by_pr": True}, ok=True,
         summary=("evaluated with the version on the default branch",)),
    Case("an invalid configuration in the PR blocks even when approved", (rv("bob"),),
         facts={"config_changed_by_pr": True,
                "proposed_config_error": ".github/reviewgate.yml:4: `findings.on_error` must be one of block"},
         unmet=("proposed_config",), title_is="Blocked: the changed `.github/reviewgate.yml` is invalid",
         summary=("`findings.on_error` must be one of block", "Fix the file in this pull request")),
    Case("a valid configuration in the PR is judged by the old one and says what it would conclude",
         (rv("bob"),),
         facts={"config_changed_by_pr": True, "proposed_outcome": ("failure", "Blocked: needs 1 more peer approval")},
         ok=True,
         summary=("With this policy, this pull request would be: **failure**: Blocked: needs 1 more peer approval",)),
    Case("files not analysed are listed", (rv("bob"),), facts={"not_analyzed": (("gen/big.py", "too large"),)},
         ok=True, summary=("`gen/big.py`: too large",)),
    # --- every file evaluated ----------------------------------------------------------------
    Case("files past GitHub's listing block even when approved", (rv("bob"),),
         facts={"files_listed": 3000, "files_total": 3412}, unmet=("files",),
         title_is="Blocked: too large to evaluate: 3,000 files listed of 3,412; split the pull request",
         summary=("GitHub listed 3,000 of the 3,412 files", "Split the pull request")),
    Case("every file listed", (rv("bob"),), facts={"files_listed": 12, "files_total": 12}, ok=True),
    Case("files past the time budget block even when approved", (rv("bob"),),
         facts={"out_of_time": ("b.py", "a.py")}, unmet=("time",),
         title_is="Blocked: 2 files not analysed in time",
         summary=("2 files not analysed before the evaluation's time budget ran out: `a.py`, `b.py`",
                  "`/gate recheck`")),
    Case("a long list of late files is cut", (rv("bob"),),
         facts={"out_of_time": tuple(f"f{i:02}.py" for i in range(25))}, unmet=("time",),
         summary=("`f09.py` and 15 more",)),
    Case("too large and late, both said first", config=OWNERS,
         facts={**STORAGE_CHANGE, "files_listed": 3000, "files_total": 3001, "out_of_time": ("a.py",)},
         unmet=("files", "time", "approvals", "owners.0"),
         title="Blocked: too large to evaluate: 3,000 files listed of 3,001; split the pull request; "
               "1 file not analysed in time; needs 1 peer approval"),
    Case("many unmet conditions are counted in the title", (rv("bob", "CHANGES_REQUESTED"),), config=OWNERS,
         facts={**STORAGE_CHANGE, "hold": Hold("carol", "t"), "findings": (finding("RG201", "f1"),)},
         unmet=("hold", "approvals", "changes_requested", "owners.0", "findings"),
         title="Blocked: on hold by @carol; needs 1 peer approval on a1b2c3d; changes requested by @bob; "
               "2 more conditions"),
]


def _facts(case: Case) -> Facts:
    return Facts(repo="octo/demo", number=7, head_sha=HEAD, author="alice", reviews=case.reviews,
                 permissions=PERMISSIONS, **case.facts)


def _verdict(case: Case) -> Verdict:
    return decide(_facts(case), parse_repo_config(case.config) if case.config else DEFAULT_CONFIG)


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_decide(case: Case) -> None:
    verdict = _verdict(case)
    assert verdict.conclusion == ("success" if case.ok else "failure"), verdict.summary
    assert tuple(c.key for c in verdict.unmet) == case.unmet, verdict.summary
    if case.title_is:
        assert verdict.title == case.title_is
    assert case.title in verdict.title
    for text in case.summary:
        assert text in verdict.summary, verdict.summary
    # Every unmet condition says what unblocks it; every met one is marked as met.
    for condition in verdict.conditions:
        assert bool(condition.unblock) != condition.met
        assert (f"- {condition.line}" in verdict.summary)
    # The title is plain text; the summary's heading shows it escaped.
    assert verdict.summary.startswith(f"## {'✓' if case.ok else '✗'} {render.text(verdict.title)}")


def test_the_verdict_does_not_depend_on_input_order() -> None:
    case = next(c for c in CASES if c.id == "many unmet conditions are counted in the title")
    facts = _facts(dataclasses.replace(case, reviews=(rv("dave", at=2), rv("rita", at=3), rv("bob", at=1))))
    findings = (finding("RG201", "f1"), finding("RG202", "f2", line=20), finding("RG203", "f3", line=30))
    waivers = (waiver("RG2", "f1", "f2"), dataclasses.replace(waiver("RG201", "f1"), created_at="2026-03-01T09:00:00Z"))
    facts = dataclasses.replace(facts, findings=findings, waivers=waivers)
    shuffled = dataclasses.replace(facts, reviews=tuple(reversed(facts.reviews)),
                                   permissions=dict(reversed(list(PERMISSIONS.items()))),
                                   findings=tuple(reversed(findings)), waivers=tuple(reversed(waivers)))
    config = parse_repo_config(OWNERS)
    assert decide(facts, config) == decide(shuffled, config)


def test_summary_lists_every_reviewer_with_the_commit_they_approved() -> None:
    reviews = (rv("bob"), rv("carol", commit=OLD, at=2), rv("alice", at=3), rv("rita", at=4))
    summary = _verdict(Case("x", reviews)).summary
    assert "| @bob | approved | ✓ at `a1b2c3d` (the latest commit) |" in summary
    assert "| @carol | approved | ✗ at `0f0f0f0`; stale: `0f0f0f0` was never evaluated" in summary
    assert "| @alice | approved | ✗ not counted: the PR author |" in summary
    assert "| @rita | approved | ✗ not counted: has read permission, write needed |" in summary


def test_a_pusher_is_not_told_that_approving_again_counts() -> None:
    verdict = _verdict(Case("x", (rv("bob", commit=OLD), rv("carol", commit=OLD, at=2)),
                            facts={"head_pushers": ("bob",)}))
    (approvals,) = [c for c in verdict.unmet if c.key == "approvals"]
    assert "@carol approved an earlier commit: approving again counts." in approvals.unblock
    assert "@bob approved" not in approvals.unblock
    assert "Someone other than @bob must approve" in approvals.unblock


def test_long_finding_lists_are_truncated_in_the_summary() -> None:
    findings = tuple(finding("RG201", f"f{i}", line=i) for i in range(1, 41))
    summary = _verdict(Case("x", (rv("bob"),), facts={"findings": findings})).summary
    assert summary.count("**RG201**") == 30
    assert "and 10 more (see the annotations)" in summary


def test_user_text_cannot_break_the_summary_table() -> None:
    facts = {"findings": (finding("RG201", "f1"),),
             "waivers": (Waiver("RG201", "line one\nline | two", "bob", frozenset({"f1"}), "t"),)}
    summary = _verdict(Case("x", (rv("carol"),), facts=facts)).summary
    assert "line one line \\| two" in summary
    assert "\nline | two" not in summary


def test_fingerprint_ignores_whitespace_and_line_numbers() -> None:
    a = fingerprint("RG201", "app/store.py", "    try:  save(x)\n")
    assert a == fingerprint("rg201", "app/store.py", "try: save(x)")
    assert a != fingerprint("RG202", "app/store.py", "try: save(x)")
    assert a != fingerprint("RG201", "app/other.py", "try: save(x)")
    assert a != fingerprint("RG201", "app/store.py", "try: save(y)")
    assert fingerprint("RG201", "p", "x", occurrence=0) == fingerprint("RG201", "p", "x")
    assert fingerprint("RG201", "p", "x", occurrence=1) != fingerprint("RG201", "p", "x")
    assert len(a) == 64 and int(a, 16) >= 0


def test_file_digest_is_a_set_digest() -> None:
    changes = [("a.py", "@@ -1 +1 @@\n-x\n+y"), ("b.py", "@@ -0,0 +1 @@\n+z")]
    assert file_digest(changes) == file_digest(list(reversed(changes)))
    assert file_digest(changes) != file_digest(changes[:1])
    # Boundaries between path and patch are unambiguous.
    assert file_digest([("ab", "c")]) != file_digest([("a", "bc")])
    assert file_digest([("a", "b"), ("c", "d")]) != file_digest([("a", "b", "c", "d")])


def test_file_digest_tells_apart_status_former_name_blob_and_file_count() -> None:
    moved = ("renamed", "moved.py", "keep/a.py", "blob:1234")
    assert file_digest([moved]) != file_digest([("renamed", "moved.py", "keep/b.py", "blob:1234")])
    assert file_digest([moved]) != file_digest([("added", "moved.py", "", "blob:1234")])
    assert file_digest([moved]) != file_digest([("renamed", "moved.py", "keep/a.py", "blob:5678")])
    assert file_digest([moved], files_total=1) != file_digest([moved], files_total=2)
    assert file_digest([moved], files_total=1) == file_digest([moved], files_total=1)


@pytest.mark.parametrize(
    ("path", "pattern", "matches"),
    [
        ("app/storage/db.py", "app/storage/**", True),
        ("app/storage/db.py", "app/storage/", True),
        ("app/storage/db.py", "./app/storage/", True),
        ("app/storage/db.py", "/app/storage/", True),
        ("app/storage.py", "app/storage/", False),
        ("app/db/migrations/0001.py", "**/migrations/*.py", True),
        ("migrations/0001.py", "**/migrations/*.py", True),
        ("app/db/models.py", "**/migrations/*.py", False),
        ("setup.cfg", "*.py", False),
        ("Storage/db.py", "storage/**", False),
    ],
)
def test_glob_match(path: str, pattern: str, matches: bool) -> None:
    assert glob_match(path, pattern) is matches


def _glob_match_before(path: str, pattern: str) -> bool:
    """The definition of a glob's reading (`rules.glob_match`, shared with `paths:`): the
    reference the gate's indexed matcher must agree with."""
    return rules.glob_match(path, pattern)


_GLOB_PIECES = ["a", "b", "ab", "/", ".", ".py", "*", "**", "**/", "?", "[ab]", "[!a]", "[", "]", "./", "\\"]
_PATH_PIECES = ["a", "b", "ab", "/", ".", ".py", "./", "\\", "*", "[", "]", "a/b/"]
_globs = st.lists(st.sampled_from(_GLOB_PIECES), max_size=7).map("".join)
_paths = st.lists(st.sampled_from(_PATH_PIECES), max_size=7).map("".join)


@settings(max_examples=400, deadline=None)
@given(globs=st.lists(_globs, min_size=1, max_size=3), paths=st.lists(_paths, max_size=12))
def test_owners_matching_is_the_same_as_matching_every_pair(globs: list[str], paths: list[str]) -> None:
    for path in paths:
        for pattern in globs:
            assert glob_match(path, pattern) is _glob_match_before(path, pattern), (path, pattern)
    expected = sum(1 for p in paths if any(_glob_match_before(p, g) for g in globs))
    config = GateConfig(owners=(OwnersRule(paths=tuple(globs), users=("owen",)),))
    facts = Facts(repo="octo/demo", number=7, head_sha=HEAD, author="alice", reviews=(rv("owen"),),
                  permissions=PERMISSIONS, changed_paths=tuple(paths))
    owners = [c for c in decide(facts, config).conditions if c.key == "owners.0"]
    if expected == 0:
        assert owners == []
    else:
        (condition,) = owners
        counted = re.search(r"for (\d+) changed files?:", condition.text)
        assert counted is not None and int(counted.group(1)) == expected, (globs, paths, condition.text)
