"""Secrets (webhook secret, private key, installation tokens, app JWTs) never appear in logs,
error messages, the check run, comments or /metrics: an end-to-end run with faults, every log
record captured at DEBUG, and everything the bot said searched for them."""

from __future__ import annotations

import json
import logging

import pytest
import requests

from bot.jobs.reconcile import reconcile
from tests.bot.harness import Bot
from tests.fakehub import FakeHub
from tests.fakehub.model import FileChange
from tests.reliability.conftest import NAIVE, OLD, REPO

JWT_HEADER = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9"  # base64url of {"alg":"RS256","typ":"JWT"}


def secrets_of(hub: FakeHub) -> list[str]:
    key_lines = [line for line in hub.private_key_pem.splitlines() if len(line) >= 40]
    with hub.locked():
        tokens = list(hub._tokens)
    assert tokens, "the run issued no installation token: nothing was tested"
    return [hub.webhook_secret, JWT_HEADER, *key_lines, *tokens]


def assert_no_secret(text: str, hub: FakeHub, where: str) -> None:
    for secret in secrets_of(hub):
        assert secret not in text, f"a secret ({secret[:6]}…) appears in {where}"


def test_no_secret_in_logs_checks_comments_errors_or_metrics(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    hub = bot.hub
    hub.strict = False
    hub.webhook_url = f"{bot.url}/webhook"
    head = hub.add_pull(REPO, number=7, author="alice", files=[FileChange("app/clock.py", before=OLD, after=NAIVE)]).head_sha
    hub.add_pull(REPO, number=8, author="alice", files=[FileChange("app/other.py", before=OLD, after=NAIVE)])
    answers: list[str] = []
    # As an operator chasing a problem would: PyGithub's own debug logging switched on too.
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="github"):
        answers.append(bot.open_pull(REPO, 7).text)
        bot.wait(60)
        # Faults: a refused token, server errors until the job gives up, then a re-run.
        hub.expire_tokens()
        hub.fail("GET", r"/pulls/7/files$", 502, times=None)
        answers.append(bot.post("check_run", bot.check_run_rerequested_payload(REPO, 7, bot.latest_run(REPO, head))).text)
        bot.wait(60)
        failed = bot.latest_run(REPO, head)["output"]["title"]
        hub.clear_faults()
        answers.append(bot.post("check_run", bot.check_run_rerequested_payload(REPO, 7, bot.latest_run(REPO, head))).text)
        # Refused deliveries, with their error messages.
        payload = bot.pull_request_payload(REPO, 7)
        answers.append(bot.post("pull_request", payload, secret="wrong").text)
        answers.append(bot.post("pull_request", b"{broken").text)
        answers.append(bot.post("pull_request", {"action": "opened", "pull_request": {}}).text)
        # A failed delivery redelivered by the reconciler, which also finds PR 8.
        hub.add_delivery("pull_request", bot.pull_request_payload(REPO, 8), status_code=502)
        reconcile(bot.runtime)
        bot.wait(60)

    assert failed.startswith("could not evaluate")  # the failure was reported
    assert_no_secret(caplog.text, hub, "the logs")
    assert_no_secret(bot.worker_log(), hub, "the worker processes' logs")
    for record in caplog.records:
        assert_no_secret(record.getMessage(), hub, f"a log record of {record.name}")
    assert_no_secret("\n".join(answers), hub, "the webhook's answers")
    for number in (7, 8):
        pull = hub.pull(REPO, number)
        assert_no_secret(json.dumps(hub.check_runs(REPO, pull.head_sha)), hub, "the check runs")
        assert_no_secret(json.dumps(hub.comments(REPO, number)), hub, "the comments")
        assert_no_secret(json.dumps(hub.reviews_posted(REPO, number)), hub, "the reviews")
    for path in ("/metrics", "/readyz", "/healthz"):
        assert_no_secret(requests.get(f"{bot.url}{path}", timeout=10).text, hub, path)
    for text in bot.metrics_texts():  # the worker processes' own /metrics too
        assert_no_secret(text, hub, "a worker's /metrics")
