"""A hostile `.github/reviewgate.yml` on the default branch costs the bot almost nothing: an
alias bomb, an oversized file and an oversized list each fail the check at once, naming the
file and the line."""

from __future__ import annotations

import time

from bot.store.db import Evaluation
from tests.bot.harness import Bot
from tests.fakehub.model import FileChange
from tests.gate_e2e.gatehub import REPO, run_on

CONFIG = ".github/reviewgate.yml"


def alias_bomb(levels: int = 7) -> str:
    """322 bytes that expand to 9**7 (4.8 million) strings if aliases are followed."""
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def _evaluate_with(bot: Bot, config: str | bytes) -> tuple[dict, float]:
    hub = bot.hub
    hub.add_repo(REPO, default_branch="main", installation_id=42)
    hub.set_file(REPO, "main", CONFIG, config)
    head = hub.add_pull(REPO, 7, author="alice", files=[FileChange("a.py", status="added", after="X = 1\n")]).head_sha
    bot.open_pull(REPO, 7)
    bot.wait(timeout=120)
    with bot.runtime.db.session() as session:
        (evaluation,) = session.query(Evaluation).all()
        seconds = (evaluation.finished_at - evaluation.started_at).total_seconds()
    return run_on(bot, head), seconds


def test_an_alias_bomb_fails_the_check_at_once_with_its_line(bot: Bot) -> None:
    bomb = alias_bomb()
    assert len(bomb.encode()) == 322
    started = time.monotonic()
    run, seconds = _evaluate_with(bot, bomb)
    assert run["conclusion"] == "failure"
    assert run["output"]["title"] == (
        f"Blocked: invalid configuration: {CONFIG}:1: anchors and aliases are not allowed"
    )
    # Following the aliases took ~10 s and 1.1 GB; refusing the anchor is immediate.
    assert seconds < 3
    assert time.monotonic() - started < 10


def test_a_configuration_over_64_kib_is_refused_unread(bot: Bot) -> None:
    big = "approvals:\n  required: 0\n"
    big += ("# " + "x" * 97 + "\n") * ((65 * 1024 - len(big)) // 100)
    big += "#" * (65 * 1024 - len(big) - 1) + "\n"  # 65 KiB, mostly comments
    assert len(big) == 65 * 1024
    run, _ = _evaluate_with(bot, big)
    assert run["conclusion"] == "failure"
    assert run["output"]["title"] == (
        f"Blocked: invalid configuration: {CONFIG}: the file is {len(big):,} bytes; the limit is 65,536"
    )


def test_more_than_200_owners_entries_are_refused_with_the_line(bot: Bot) -> None:
    entries = "".join(f"  - paths: [dir{i}/]\n    users: [owner{i}]\n" for i in range(201))
    run, _ = _evaluate_with(bot, "owners:\n" + entries)
    assert run["conclusion"] == "failure"
    # The 201st entry starts on line 2 + 200 * 2.
    assert run["output"]["title"] == (
        f"Blocked: invalid configuration: {CONFIG}:402: `owners` has more than 200 entries"
    )
