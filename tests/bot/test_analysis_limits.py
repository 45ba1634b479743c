"""Refusing costly files cheaply: a blob over the size limit is refused by its length, a blob
that exhausts its worker is tried once, and an evaluation has a time budget after which the
check fails closed naming the files it did not analyse."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.metrics import FILES_ANALYZED
from bot.store.db import Evaluation
from tests.bot.harness import NO_APPROVALS, Bot, make_app
from tests.fakehub import FakeHub
from tests.fakehub.model import FileChange, blob_sha

REPO = "octo/demo"
OLD = "from datetime import datetime, timezone\n\n\ndef now():\n    return datetime.now(timezone.utc)\n"
NAIVE = OLD + "\n\ndef naive():\n    return datetime.now()\n"
# About 4 s of CPU for the engine: a literal of 100,000 elements.
LITERAL_BOMB = ("X = [" + ",".join(["1"] * 100_000) + "]\n").encode()


@pytest.fixture
def make_bot(fakehub: FakeHub, tmp_path: Path) -> Iterator[Callable[..., Bot]]:
    """`make_bot(**settings)`: the app on a fresh data directory, with these settings."""
    made: list[Bot] = []
    fakehub.add_repo(REPO, default_branch="main", installation_id=42)
    fakehub.set_file(REPO, "main", ".github/reviewgate.yml", NO_APPROVALS)

    def make(**overrides: Any) -> Bot:
        instance = make_app(fakehub, tmp_path / f"data{len(made)}", **overrides)
        made.append(instance)
        return instance

    yield make
    for instance in made:
        instance.close()


def _recheck(bot: Bot, head: str) -> None:
    bot.post("check_run", bot.check_run_rerequested_payload(REPO, 7, bot.latest_run(REPO, head)))
    bot.wait(120)


def _evaluations(bot: Bot) -> int:
    with bot.runtime.db.session() as session:
        return session.query(Evaluation).count()


def test_a_blob_over_the_size_limit_is_refused_by_its_length_and_never_fetched_again(
    make_bot: Callable[..., Bot],
) -> None:
    bot = make_bot()
    # 40 MiB on one line, several times what the sockets' buffers take in before the client
    # hangs up: a client that reads the body shows up as the whole blob served. GitHub sends
    # no patch for such a file.
    big = b"#" + b"x" * (40 * 1024 * 1024) + b"\n"
    head = bot.hub.add_pull(REPO, 7, files=[
        FileChange("gen/big.py", status="added", after=big, huge=True),
        FileChange("app/clock.py", before=OLD, after=NAIVE),
    ]).head_sha
    bot.open_pull(REPO, 7)
    bot.wait(120)
    run = bot.latest_run(REPO, head)
    notices = {a["path"]: (a["title"], a["message"]) for a in run["annotations"] if a["annotation_level"] == "notice"}
    title, message = notices["gen/big.py"]
    assert title == "RG002 not-analyzed"
    assert f"the file is {len(big):,} bytes, over the limit of 1,048,576" in message
    served = bot.hub.blob_bytes_served[blob_sha(big)]
    assert served < len(big) // 3, f"{served:,} of {len(big):,} bytes were sent"
    assert [a["path"] for a in run["annotations"] if a["annotation_level"] == "failure"] == ["app/clock.py"]

    bot.hub.clear_log()
    _recheck(bot, head)
    assert _evaluations(bot) == 2
    assert not bot.hub.requests_to("GET", r"/git/blobs/")
    assert "gen/big.py" in {a["path"] for a in bot.latest_run(REPO, head)["annotations"]}


def test_a_blob_that_exhausts_its_worker_is_analysed_once_across_two_evaluations(
    make_bot: Callable[..., Bot],
) -> None:
    bot = make_bot(analysis_cpu_seconds=1)
    bot.hub.set_file(REPO, "main", ".github/reviewgate.yml", NO_APPROVALS + "rules:\n  timeout_seconds: 600\n")
    head = bot.hub.add_pull(REPO, 7, files=[
        FileChange("app/bomb.py", status="added", after=LITERAL_BOMB),
    ]).head_sha
    bot.open_pull(REPO, 7)
    bot.wait(120)
    first = bot.latest_run(REPO, head)
    assert "`app/bomb.py`: Not analysed: the analysis passed its limits (1 s of CPU time" in first["output"]["summary"]
    assert len(bot.hub.requests_to("GET", rf"/git/blobs/{blob_sha(LITERAL_BOMB)}$")) == 1

    bot.hub.clear_log()
    analysed = FILES_ANALYZED._value.get()
    _recheck(bot, head)
    assert _evaluations(bot) == 2
    assert not bot.hub.requests_to("GET", r"/git/blobs/")
    assert FILES_ANALYZED._value.get() == analysed
    second = bot.latest_run(REPO, head)
    assert "`app/bomb.py`: Not analysed: the analysis passed its limits" in second["output"]["summary"]


def test_an_evaluation_past_its_time_budget_fails_closed_naming_the_files_not_analysed(
    make_bot: Callable[..., Bot],
) -> None:
    bot = make_bot(evaluation_seconds=0.001)
    head = bot.hub.add_pull(REPO, 7, files=[
        FileChange("app/first.py", status="added", after="X = 1\n"),
        FileChange("app/second.py", status="added", after="Y = 2\n"),
        FileChange("README.md", status="added", after="not Python\n"),
    ]).head_sha
    bot.open_pull(REPO, 7)
    bot.wait(120)
    run = bot.latest_run(REPO, head)
    assert run["conclusion"] == "failure"
    assert run["output"]["title"].startswith("Blocked: 2 files not analysed in time")
    summary = run["output"]["summary"]
    assert "`app/first.py`" in summary and "`app/second.py`" in summary
    assert "README.md" not in summary
