"""Commands that GitHub does not show as a line of their own are not run.

Markdown does not end a line at a "\\u2028" or a form feed, so `/gate` after one stays inside
the quote it follows; an HTML comment is not displayed at all. A command hidden there would
run unseen, in the name of whoever posted the text or pasted it from someone else.
"""

from __future__ import annotations

import pytest

from bot.store.db import HoldRecord, WaiverRecord
from tests.bot.harness import Bot
from tests.fakehub.model import FileChange
from tests.gate_e2e.gatehub import REPO, audit, comment, reactions, replies, review, run_on

NAIVE = "from datetime import datetime\n\n\ndef stamp():\n    return datetime.now()\n"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("> as @mia said:\u2028/gate unhold", id="line-separator-in-a-quote"),
        pytest.param("> as @mia said:\u2029/gate waive RG101 fine", id="paragraph-separator-in-a-quote"),
        pytest.param("> as @mia said:\x85/gate unhold", id="next-line-in-a-quote"),
        pytest.param("> as @mia said:\f/gate unhold", id="form-feed-in-a-quote"),
        pytest.param("Looks good.\n<!--\n/gate unhold\n/gate waive RG101 fine\n-->", id="html-comment"),
        pytest.param("<!-- /gate waive RG101 fine -->", id="html-comment-on-one-line"),
        pytest.param("Looks good. <!-- a note\n/gate unhold -->", id="html-comment-inline"),
        pytest.param("Looks good.\rx\n```\n/gate unhold\n```", id="lone-carriage-return-before-a-fence"),
    ],
)
def test_a_hidden_command_has_no_effect(bot: Bot, body: str) -> None:
    hub = bot.hub
    hub.add_repo(REPO, default_branch="main", installation_id=42)
    hub.add_collaborator(REPO, "bob", "write")
    hub.add_collaborator(REPO, "mia", "maintain")
    head = hub.add_pull(REPO, 7, author="alice", files=[FileChange("app/m.py", status="added", after=NAIVE)]).head_sha
    bot.open_pull(REPO, 7)
    review(bot, 7, "bob")
    comment(bot, 7, "mia", "/gate hold until the release")
    bot.wait()
    assert run_on(bot, head)["output"]["title"].startswith("Blocked: on hold by @mia")
    before = len(audit(bot))

    hidden, response = comment(bot, 7, "bob", body)
    bot.wait()
    assert response.status_code == 204  # nothing to run
    assert reactions(bot, hidden) == []
    assert replies(bot, 7) == []
    assert len(audit(bot)) == before
    run = run_on(bot, head)
    assert run["output"]["title"].startswith("Blocked: on hold by @mia")
    assert "1 time finding not waived" in run["output"]["title"]
    with bot.runtime.db.session() as session:
        assert session.query(HoldRecord).count() == 1
        assert session.query(WaiverRecord).count() == 0
