"""Changed lines and findings numbered as git numbers them, whatever characters a line holds.

A form feed, a "\\u2028" or a lone "\\r" inside a line is one line to git and to GitHub's diff
view. Counted as a line break, it hid a fake hunk header in a comment, or moved a finding off
the changed lines, and a naive `now()` below it passed the gate.
"""

from __future__ import annotations

import pytest

from tests.bot.harness import Bot
from tests.fakehub.model import FileChange
from tests.gate_e2e.gatehub import REPO, review, run_on

BEFORE = '''from datetime import datetime, timezone


def age(created):
    return datetime.now(timezone.utc) - created
'''


def _added(hiding: str) -> str:
    # Lines 6-11 of the new file; the naive now() is on line 10.
    return BEFORE + f'''

# clocks{hiding}
def stamp(record):
    record["at"] = datetime.now()
    return record
'''


def _open(bot: Bot, before: str | None, after: str) -> str:
    hub = bot.hub
    hub.add_repo(REPO, default_branch="main", installation_id=42)
    hub.add_collaborator(REPO, "bob", "write")
    change = (
        FileChange("app/clock.py", status="added", after=after)
        if before is None
        else FileChange("app/clock.py", before=before, after=after)
    )
    head = hub.add_pull(REPO, 7, author="alice", files=[change]).head_sha
    bot.open_pull(REPO, 7)
    bot.wait()
    review(bot, 7, "bob")
    bot.wait()
    return head


def _annotated(run: dict) -> list[tuple[str, int]]:
    return [(a["title"].split()[0], a["start_line"]) for a in run["annotations"]]


@pytest.mark.parametrize(
    "hiding",
    [
        pytest.param("\f@@ -1,1 +900,1 @@", id="form-feed-and-fake-hunk-header"),
        pytest.param("\u2028@@ -1,1 +900,1 @@", id="line-separator-and-fake-hunk-header"),
        # Python's parser and str.splitlines counted these 40 lines alike: the finding was
        # reported, but on line 49, which the diff does not have.
        pytest.param("\r" * 40, id="lone-carriage-returns"),
    ],
)
def test_a_naive_now_below_a_line_break_only_python_sees_is_reported(bot: Bot, hiding: str) -> None:
    head = _open(bot, BEFORE, _added(hiding))
    run = run_on(bot, head)
    assert (run["conclusion"], run["output"]["title"]) == ("failure", "Blocked: 1 time finding not waived")
    assert _annotated(run) == [("RG101", 10)]


def test_a_naive_now_after_a_lone_carriage_return_is_reported_on_its_git_line(bot: Bot) -> None:
    # Line 6 holds two of Python's lines; the second is not a "+" line of the patch to
    # str.splitlines. The finding is on line 6 as the reviewer sees it, and no suggestion is
    # offered: it would replace the whole of line 6, `record["n"] = 1` with it.
    line = '    record["n"] = 1\r    record["at"] = datetime.datetime.now()'
    after = "import datetime\nfrom datetime import timezone\n\n\ndef first(record):\n" + line + "\n    return record\n"
    head = _open(bot, None, after)
    run = run_on(bot, head)
    assert (run["conclusion"], run["output"]["title"]) == ("failure", "Blocked: 1 time finding not waived")
    (annotation,) = run["annotations"]
    assert (annotation["title"].split()[0], annotation["start_line"], annotation["end_line"]) == ("RG101", 6, 6)
    start = line.index("datetime.datetime.now()") + 1
    assert (annotation["start_column"], annotation["end_column"]) == (start, start + len("datetime.datetime.now()"))
    assert bot.hub.reviews_posted(REPO, 7) == []


def test_a_suggestion_below_a_lone_carriage_return_replaces_the_line_it_fixes(bot: Bot) -> None:
    after = (
        "import datetime\nfrom datetime import timezone\n\n\ndef first(record):\n"
        '    record["n"] = 1\r    record["m"] = 2\n'
        '    print(record, datetime.datetime.now())\n'
        "    return record\n"
    )
    head = _open(bot, None, after)
    (posted,) = bot.hub.reviews_posted(REPO, 7)
    (suggestion,) = posted["comments"]
    assert suggestion["line"] == 7
    assert _annotated(run_on(bot, head)) == [("RG101", 7)]
    assert '```suggestion\n    print(record, datetime.datetime.now(timezone.utc))\n```' in suggestion["body"]
