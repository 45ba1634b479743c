"""Hostile text through every output the bot writes, over real HTTP: file names in a pull
request, hold and waiver reasons and command text in comments, a configuration error and a
merge group's branch name. Each comes out as literal text: no heading, HTML, link, image,
table cell, mention or reference of its own, and no way out of a code span."""

from __future__ import annotations

import re
from typing import Any

import rules
from bot import render
from bot.policy.commands import explain
from bot.report import STICKY_MARKER
from tests.bot.harness import Bot
from tests.bot.markdown_reader import JOINER, read_inline, table_cells
from tests.fakehub.model import FileChange
from tests.gate_e2e.gatehub import REPO, comment, merge_group, replies, review, run_on

# Every string here is written where a user controls the text.
HOSTILE = [
    "tick ` two `` three ``` four ```` five `````",
    "<details><summary>open</summary>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "![pixel](https://evil.example/p.png)",
    "@someone",
    "@org/team",
    "#123",
    "## ✅ Passed",
    "cell | break",
    "-->",
    "**bold** _it_ ~~gone~~ $x^2$ &amp;",
]
# Only file names can hold line breaks.
MULTILINE = ["line\n## heading", "carriage\r- item", "para\u2028graph"]
REASON = " ; ".join(HOSTILE)
GLOB = "*<img src=x onerror=alert(1)>*"
NAIVE = "from datetime import datetime\n\n\ndef stamp():\n    return datetime.now()\n"
SWALLOWED = "import sqlite3\n\n\ndef save(conn):\n    try:\n        conn.commit()\n    except sqlite3.Error:\n        pass\n"
OUR_LOGINS = {"alice", "bob", "mia", "rita", "carol"}
# How the bot's own lines begin (user text is only ever in the middle of one), and its headings.
OUR_LINE = re.compile(r"^(?:$|#|- |  - |\| |---$|[✅❌] \*\*reviewgate\*\*: |`|_?[A-Z][a-z]|None\.$)")
OUR_HEADINGS = re.compile(
    r"^(?:## [✓✗] |### (?:(?:Findings on changed lines|Reviews|Active waivers|Not analysed|Notes|"
    r"Suppressed in code|Files not analysed|Analysed whole)$|Error findings not waived \(\d+\): ))"
)


def _shows_literally(markdown: str, *, shown: list[str]) -> str:
    """Check `markdown` line by line; returns what a reader sees, for the caller to look for
    the hostile text in."""
    lines = markdown.split("\n")
    seen = []
    for n, line in enumerate(lines):
        assert "\r" not in line and "\u2028" not in line and "\u2029" not in line, line
        if n == 0 and line.startswith("<!-- reviewgate:"):
            assert re.fullmatch(r"<!-- reviewgate:(?:sticky|reply:\d+) -->", line), line
            continue
        assert OUR_LINE.match(line), f"a line the bot did not write: {line!r}"
        if line.startswith("#"):
            assert OUR_HEADINGS.match(line), f"a heading the bot did not write: {line!r}"
        read = read_inline(line)
        assert not read.html, (read.html, line)
        assert not read.unclosed, (read.unclosed, line)
        assert all(t.startswith("https://") and "#" in t for t in read.links), (read.links, line)
        assert not [t for t in read.links if "javascript" in t or "evil" in t], line
        assert set(read.mentions) <= OUR_LOGINS, (read.mentions, line)
        assert set(read.references) <= {"#7"}, (read.references, line)
        assert not re.findall(r"(?i)https?://|www\.", re.sub(r"\]\([^)]*\)", "]", read.text)), line
        seen.append(read.shown)
    # Tables keep the shape of their header row.
    for i, line in enumerate(lines):
        if line.startswith("| ---") or line.startswith("| :--"):
            width = len(table_cells(lines[i - 1]))
            for row in lines[i + 1 :]:
                if not row.startswith("|"):
                    break
                assert len(table_cells(row)) == width, row
    text = "\n".join(seen).replace(JOINER, "")
    for wanted in shown:
        assert render.plain(wanted) in text, f"{wanted!r} is not shown literally"
    return text


def _plain_title(title: str) -> None:
    assert "\n" not in title and "\r" not in title and "\u2028" not in title
    assert len(title) <= render.TITLE_LIMIT


def _run(bot: Bot, sha: str) -> dict[str, Any]:
    run = run_on(bot, sha)
    _plain_title(run["output"]["title"])
    return run


def test_hostile_text_is_shown_literally_in_every_output(bot: Bot) -> None:
    hub = bot.hub
    hub.add_repo(REPO, default_branch="main", installation_id=42)
    for login, permission in (("alice", "write"), ("bob", "write"), ("mia", "maintain"), ("rita", "read")):
        hub.add_collaborator(REPO, login, permission)
    hub.set_file(REPO, "main", ".github/reviewgate.yml", f'owners:\n  - paths: ["{GLOB}"]\n    users: [carol]\n')
    names = [f"app/{i}-{h}.py" for i, h in enumerate(HOSTILE + MULTILINE)]
    files = [FileChange(name, status="added", after=NAIVE) for name in names]
    store = f"store/{HOSTILE[1]}.py"
    broken = f"broken/{HOSTILE[3]}.py"
    files += [FileChange(store, status="added", after=SWALLOWED), FileChange(broken, status="added", after="def (:\n")]
    head = hub.add_pull(REPO, 7, author="alice", files=files).head_sha
    bot.open_pull(REPO, 7)
    bot.wait()
    review(bot, 7, "bob")
    comment(bot, 7, "mia", f"/gate hold {REASON}")
    comment(bot, 7, "bob", f"/gate waive RG201 {REASON}")
    refused, _ = comment(
        bot, 7, "rita",
        f"/gate hold {REASON}\n/gate <img src=x>`@someone`\n/gate explain <img src=x>\n/gate explain RG999\n"
        f"/gate waive `RG2` {REASON}",
    )
    authored, _ = comment(bot, 7, "alice", f"/gate waive RG101 {REASON}")
    bot.wait()

    # The check run: plain title, escaped summary, annotations on the files as named.
    run = _run(bot, head)
    assert run["conclusion"] == "failure"
    assert GLOB in run["output"]["title"] and "on hold by @mia" in run["output"]["title"]
    summary = _shows_literally(run["output"]["summary"], shown=[*HOSTILE, *names, broken, GLOB])
    assert f"On hold by @mia: {render.plain(REASON)}" in summary
    assert f"by @bob: {render.plain(REASON)}" in summary  # the waiver
    assert set(names) <= {a["path"] for a in run["annotations"]}
    for annotation in run["annotations"]:
        assert len(annotation["title"]) <= 255 and len(annotation["message"]) <= render.ANNOTATION_MESSAGE_LIMIT

    # The sticky comment says the same.
    (sticky,) = [c["body"] for c in hub.comments(REPO, 7) if c["body"].startswith(STICKY_MARKER)]
    assert len(sticky) <= render.COMMENT_LIMIT
    _shows_literally(sticky, shown=[*HOSTILE, *names, GLOB])

    # Replies: refusals echo the command, an unknown command and code, an unknown rule.
    bodies = replies(bot, 7)
    (to_rita,) = [b for b in bodies if f"reply:{refused} " in b]
    shown = _shows_literally(to_rita, shown=[f"/gate hold {REASON}", "/gate <img src=x>`@someone`", "<IMG"])
    assert "needs write permission on this repository; @rita has read" in shown
    assert "RG999 is not a Reviewgate rule" in shown
    (to_alice,) = [b for b in bodies if f"reply:{authored} " in b]
    assert "@alice, the author of a pull request may not waive" in _shows_literally(
        to_alice, shown=[f"/gate waive RG101 {REASON}"]
    )

    # A merge group holding the pull request shows its title in a table cell.
    tip = hub.repo(REPO).branches["main"]
    group = hub.set_file(REPO, f"gh-readonly-queue/main/pr-7-{tip}", "queued.txt", "7\n")
    merge_group(bot, group, f"refs/heads/gh-readonly-queue/main/pr-7-{tip}", tip)
    # And one whose branch name is not a merge queue's.
    odd_ref = "refs/heads/gh-readonly-queue/main/<img/src=x>`@someone`#123|x"
    odd = hub.set_file(REPO, "elsewhere", "queued.txt", "8\n")
    merge_group(bot, odd, odd_ref, tip)
    bot.wait()
    grouped = _run(bot, group)
    assert grouped["conclusion"] == "failure"
    _shows_literally(grouped["output"]["summary"], shown=[GLOB, "on hold by @mia"])
    refused_group = _run(bot, odd)
    assert odd_ref in refused_group["output"]["title"]
    _shows_literally(refused_group["output"]["summary"], shown=[odd_ref])

    # A configuration error quoting the file's hostile text.
    hub.set_file(
        REPO, "main", ".github/reviewgate.yml",
        "owners:\n  - paths: ['app/**']\n    users: ['<img src=x>`@someone`#123|x']\n",
    )
    comment(bot, 7, "bob", "/gate recheck")
    bot.wait()
    run = _run(bot, head)
    assert run["output"]["title"].startswith("Blocked: invalid configuration:")
    assert "<img src=x>`@someone`#123|x" in run["output"]["title"]
    _shows_literally(run["output"]["summary"], shown=["<img src=x>", "@someone", "#123|x"])


def test_a_reply_never_exceeds_githubs_comment_limit(bot: Bot) -> None:
    hub = bot.hub
    hub.add_repo(REPO, default_branch="main", installation_id=42)
    hub.add_collaborator(REPO, "rita", "read")
    hub.add_pull(REPO, 7, author="alice", files=[FileChange("app/m.py", status="added", after="X = 1\n")])
    bot.open_pull(REPO, 7)
    bot.wait()
    # The largest reply one comment can ask for: ten commands (the most a comment runs), each
    # answered with the longest text the bot has. Every quoted command is bounded as well, so
    # the reply stays under GitHub's limit; `render.bounded` cuts it if it ever would not.
    longest = max(rules.CATALOGUE, key=lambda r: len(explain(r.code))).code
    lines = [f"/gate explain {longest}"] * 5 + [f"/gate {'x' * 6_000}{i}" for i in range(5)]
    asked, _ = comment(bot, 7, "rita", "\n".join(lines))
    bot.wait()
    (reply,) = [b for b in replies(bot, 7) if f"reply:{asked} " in b]
    assert len(reply) <= render.COMMENT_LIMIT
    assert reply.count(f"### {longest} ") == 5 and reply.count("is not a command") == 5
