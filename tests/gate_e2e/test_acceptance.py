"""Issue 5's acceptance scenario, step by step, against fakehub over real HTTP with the real
queue and database: peer approval of the latest commit, waivers, and the configuration that
only the default branch can change."""

from __future__ import annotations

from bot.render import short
from tests.bot.harness import Bot
from tests.fakehub.model import FileChange
from tests.gate_e2e.gatehub import REPO, audit, comment, reactions, replies, review, run_on

BEFORE = '''import sqlite3
from datetime import datetime, timezone


def age(created):
    return datetime.now(timezone.utc) - created
'''

# A naive now() (RG101) and a swallowed commit() (RG201) on added lines.
AFTER = BEFORE + '''

def stamp(record):
    record["at"] = datetime.now()
    return record


def save(conn):
    try:
        conn.commit()
    except sqlite3.Error:
        pass
'''

# The next commit adds one more naive now(): not covered by the earlier waiver.
LATER = AFTER + '''

def touch(record):
    record["seen"] = datetime.now()
'''


def _codes(run: dict) -> list[str]:
    return sorted(a["title"].split()[0] for a in run["annotations"])


def test_peer_approval_of_the_latest_commit_and_waivers_end_to_end(bot: Bot) -> None:
    hub = bot.hub
    hub.add_repo(REPO, default_branch="main", installation_id=42)
    hub.add_collaborator(REPO, "alice", "write")  # the author: write permission does not make her a peer
    hub.add_collaborator(REPO, "bob", "write")
    hub.add_collaborator(REPO, "rita", "read")
    head = hub.add_pull(REPO, 7, author="alice", files=[FileChange("app/models.py", before=BEFORE, after=AFTER)]).head_sha

    # Opened: blocked, needs a peer approval (and the findings are not waived).
    assert bot.open_pull(REPO, 7).status_code == 202
    bot.wait()
    run = run_on(bot, head)
    assert run["conclusion"] == "failure"
    assert run["output"]["title"].startswith(f"Blocked: needs 1 peer approval on {short(head)}")
    assert _codes(run) == ["RG101", "RG201"]

    # The author's approval and a read-only user's approval do not count.
    assert review(bot, 7, "alice").status_code == 202
    assert review(bot, 7, "rita").status_code == 202
    bot.wait()
    run = run_on(bot, head)
    assert run["conclusion"] == "failure"
    assert run["output"]["title"].startswith(f"Blocked: needs 1 peer approval on {short(head)}")
    summary = run["output"]["summary"]
    assert "| @alice | approved | ✗ not counted: the PR author |" in summary
    assert "| @rita | approved | ✗ not counted: has read permission, write needed |" in summary

    # A writer approves the head: the findings still block.
    review(bot, 7, "bob")
    bot.wait()
    run = run_on(bot, head)
    assert run["conclusion"] == "failure"
    assert run["output"]["title"] == "Blocked: 1 time and 1 storage findings not waived"
    assert "`/gate waive RG101 <reason>`, `/gate waive RG201 <reason>`" in run["output"]["summary"]

    # That writer waives each code: the check passes, and the summary lists the waivers.
    first, _ = comment(bot, 7, "bob", "/gate waive RG101 displayed only, never compared")
    second, _ = comment(bot, 7, "bob", "/gate waive RG201 the caller retries and logs")
    bot.wait()
    assert reactions(bot, first) == ["+1"] and reactions(bot, second) == ["+1"]
    run = run_on(bot, head)
    assert run["conclusion"] == "success"
    assert run["output"]["title"] == f"Passed: approved by @bob on {short(head)}; 2 findings waived"
    summary = run["output"]["summary"]
    assert "### Active waivers" in summary
    assert "- `RG101` by @bob: displayed only, never compared" in summary
    assert "- `RG201` by @bob: the caller retries and logs" in summary
    assert replies(bot, 7) == []  # accepted commands get a reaction, no reply

    # A new commit: blocked again, the approval is stale, the new finding is annotated.
    later = hub.push(REPO, 7, files=[FileChange("app/models.py", after=LATER)])
    bot.open_pull(REPO, 7, "synchronize")
    bot.wait()
    run = run_on(bot, later)
    assert run["conclusion"] == "failure"
    assert run["output"]["title"] == (
        f"Blocked: needs 1 peer approval on {short(later)}; 1 time finding not waived"
    )
    new_line = LATER.splitlines().index('    record["seen"] = datetime.now()') + 1
    assert [(a["path"], a["start_line"], a["annotation_level"]) for a in run["annotations"]
            if a["title"].startswith("RG101") and a["start_line"] == new_line] == [("app/models.py", new_line, "failure")]
    summary = run["output"]["summary"]
    assert f"stale: the PR's changes differ at `{short(later)}`" in summary
    assert "@bob approved an earlier commit: approving again counts." in summary

    # The author may not waive: confused, one reply saying why and who may.
    mine, _ = comment(bot, 7, "alice", "/gate waive RG101 it is fine, trust me")
    bot.wait()
    assert reactions(bot, mine) == ["confused"]
    (reply,) = replies(bot, 7)
    assert "the author of a pull request may not waive its findings" in reply
    assert "A reviewer with write permission who is not the author" in reply
    assert run_on(bot, later)["conclusion"] == "failure"

    # A configuration added by the PR that turns approvals off has no effect.
    with_config = hub.push(
        REPO, 7, files=[FileChange(".github/reviewgate.yml", status="added", after="approvals:\n  required: 0\n")]
    )
    bot.open_pull(REPO, 7, "synchronize")
    bot.wait()
    run = run_on(bot, with_config)
    assert run["conclusion"] == "failure"
    assert run["output"]["title"].startswith(f"Blocked: needs 1 peer approval on {short(with_config)}")
    assert "This pull request changes `.github/reviewgate.yml`" in run["output"]["summary"]

    # An invalid configuration on the default branch fails the check with its line.
    hub.set_file(REPO, "main", ".github/reviewgate.yml", "approvals:\n  required: 1\n  requierd: 2\n")
    comment(bot, 7, "bob", "/gate recheck")
    bot.wait()
    run = run_on(bot, with_config)
    assert run["conclusion"] == "failure"
    assert run["output"]["title"].startswith("Blocked: invalid configuration: .github/reviewgate.yml:3: unknown key")

    # Every command is in the audit table, accepted or refused.
    rows = [(a.actor, a.name, a.outcome, a.reason) for a in audit(bot)]
    assert rows == [
        ("bob", "waive", "accepted", "displayed only, never compared"),
        ("bob", "waive", "accepted", "the caller retries and logs"),
        ("alice", "waive", "refused", "it is fine, trust me"),
        ("bob", "recheck", "accepted", ""),
    ]
    assert [a.head_sha for a in audit(bot)] == [head, head, later, with_config]
