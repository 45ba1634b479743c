"""Hostile and broken input: fuzzed deliveries, signed-but-odd payloads, parse bombs."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import rules
from bot.isolation import Isolation, Limits
from bot.store.db import Delivery
from bot.web.events import KNOWN_EVENTS
from tests.bot.harness import WEBHOOKS, Bot
from tests.fakehub.model import FileChange
from tests.reliability.conftest import NAIVE, OLD, REPO

MAX_BODY = 8 * 1024
SECRET = "fakehub-webhook-secret"  # FakeHub's; the fuzz signs with it or with anything else

_header_text = st.from_regex(r"[!-~][ -~]{0,60}", fullmatch=True)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=30,
)


def _example_bodies() -> list[dict[str, Any]]:
    found = []
    for path in sorted(WEBHOOKS.glob("*/*.json"))[:40]:
        found.append(json.loads(path.read_text()))
    return found


_EXAMPLES = _example_bodies()


@st.composite
def _mutated_example(draw: st.DrawFn) -> bytes:
    """A real GitHub payload with a few fields replaced, removed or retyped."""
    payload = copy.deepcopy(draw(st.sampled_from(_EXAMPLES)))
    for _ in range(draw(st.integers(0, 4))):
        node: Any = payload
        while isinstance(node, dict) and node and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(node)))
            if not isinstance(node[key], dict):
                break
            node = node[key]
        if isinstance(node, dict) and node:
            key = draw(st.sampled_from(sorted(node)))
            if draw(st.booleans()):
                del node[key]
            else:
                node[key] = draw(_json_values)
    return json.dumps(payload).encode()


_bodies = st.one_of(
    st.binary(max_size=MAX_BODY + 2048),
    _json_values.map(lambda v: json.dumps(v).encode()),
    _mutated_example(),
    st.builds(lambda depth: ("[" * depth + "]" * depth).encode(), st.integers(100, 100_000)),
    st.builds(lambda n: ('{"action": "' + "9" * n + '"}').encode(), st.integers(1000, MAX_BODY * 2)),
)


def _signature(kind: str, body: bytes) -> str | None:
    if kind == "none":
        return None
    if kind == "wrong-secret":
        return "sha256=" + hmac.new(b"not-the-secret", body, hashlib.sha256).hexdigest()
    if kind == "sha1":
        return "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


@st.composite
def _deliveries(draw: st.DrawFn, signing: list[str]) -> tuple[dict[str, str], bytes]:
    body = draw(_bodies)
    kind = draw(st.sampled_from(signing))
    signature = _signature(kind, body)
    if draw(st.integers(0, 9)) == 0:
        body = body[: len(body) // 2]  # signed whole, sent truncated
    headers = {
        "X-GitHub-Event": draw(st.sampled_from(sorted(KNOWN_EVENTS)) | _header_text),
        "X-GitHub-Delivery": draw(st.uuids().map(str) | _header_text),
        "Content-Type": draw(st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"])),
    }
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    for name in draw(st.lists(st.sampled_from(["X-GitHub-Event", "X-GitHub-Delivery", "Content-Type"]), max_size=2)):
        if draw(st.booleans()):
            headers.pop(name, None)
        else:
            headers[name] = draw(_header_text)
    return headers, body


def _fuzz(bot: Bot, signing: list[str], caplog: pytest.LogCaptureFixture) -> list[int]:
    session = requests.Session()
    statuses: list[int] = []

    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(_deliveries(signing))
    def one(delivery: tuple[dict[str, str], bytes]) -> None:
        headers, body = delivery
        response = session.post(f"{bot.url}/webhook", data=body, headers=headers, timeout=30)
        statuses.append(response.status_code)
        assert response.status_code < 500, (response.status_code, response.text[:200])

    if "valid" in signing:
        # Whatever the draws, both sides are reached: an answered delivery and a refused one.
        for body in (b'{"action": "labeled"}', b"[]"):
            headers = {"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": str(uuid.uuid4()),
                       "Content-Type": "application/json", "X-Hub-Signature-256": _signature("valid", body)}
            one = example((headers, body))(one)
    with caplog.at_level(logging.DEBUG):
        one()
    unhandled = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not unhandled, [r.getMessage() for r in unhandled]
    return statuses


def test_fuzzed_unsigned_deliveries_never_reach_github_or_the_database(
    make_bot: Callable[..., Bot], caplog: pytest.LogCaptureFixture
) -> None:
    bot = make_bot(max_body_bytes=MAX_BODY)
    bot.start()
    bot.hub.clear_log()
    statuses = _fuzz(bot, ["none", "wrong-secret", "sha1"], caplog)
    bot.wait(60)
    assert set(statuses) <= {401, 413}
    assert bot.hub.requests == []
    with bot.runtime.db.session() as session:
        assert session.query(Delivery).count() == 0


def test_fuzzed_signed_deliveries_never_5xx_nor_raise(make_bot: Callable[..., Bot], caplog: pytest.LogCaptureFixture) -> None:
    # The consumer is not started: this is about the web side. Jobs queued are discarded.
    bot = make_bot(max_body_bytes=MAX_BODY)
    statuses = _fuzz(bot, ["valid"], caplog)
    assert set(statuses) <= {200, 202, 204, 400, 401, 413}  # 401: truncated after signing
    assert 400 in statuses and (202 in statuses or 204 in statuses)


def test_an_oversized_body_is_413_before_anything_else(make_bot: Callable[..., Bot]) -> None:
    bot = make_bot(max_body_bytes=MAX_BODY)
    body = b"x" * (MAX_BODY + 1)
    for signature in ("sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(), "sha256=0"):
        response = bot.post("pull_request", body, signature=signature)
        assert response.status_code == 413
    # Chunked, so no Content-Length announces the size.
    chunks = iter([b"x" * 4096] * 4)
    response = requests.post(
        f"{bot.url}/webhook", data=chunks, timeout=30,
        headers={"X-GitHub-Event": "ping", "X-GitHub-Delivery": str(uuid.uuid4()), "X-Hub-Signature-256": "sha256=0"},
    )
    assert response.status_code in (401, 413)


# -- signed but odd -------------------------------------------------------------------------------


def _pull(bot: Bot, files: list[FileChange], number: int = 7) -> str:
    return bot.hub.add_pull(REPO, number=number, author="alice", files=files).head_sha


def test_a_delivery_without_installation_is_ignored(bot: Bot) -> None:
    _pull(bot, [FileChange("app/clock.py", before=OLD, after=NAIVE)])
    payload = bot.pull_request_payload(REPO, 7)
    del payload["installation"]
    response = bot.post("pull_request", payload)
    assert response.status_code == 204
    bot.wait(30)
    assert bot.hub.requests == []


def test_a_signed_delivery_whose_action_is_not_a_string_is_ignored(bot: Bot) -> None:
    _pull(bot, [FileChange("app/clock.py", before=OLD, after=NAIVE)])
    for event in ("pull_request", "pull_request_review"):
        payload = bot.pull_request_payload(REPO, 7)
        payload["action"] = ["opened"]
        response = bot.post(event, payload)
        assert response.status_code == 204, response.text
    bot.wait(30)
    assert bot.hub.requests == []


def _set(payload: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for key in parents:
        payload = payload[key]
    payload[last] = value


@pytest.mark.parametrize(("path", "value"), [
    ("action", "synchronize" * 6),
    ("action", "synchronize\x00"),
    ("sender.login", "mallory\x00"),
    ("repository.full_name", "octo/" + "d" * 101),
    ("repository.full_name", "octo/demo/../../etc"),
    ("pull_request.number", 2**31),
    ("pull_request.number", -7),
    ("pull_request.head.sha", "HEAD~1"),
    ("pull_request.head.sha", "a" * 41),
    ("installation.id", 2**63),
], ids=lambda v: str(v)[:24])
def test_a_signed_delivery_with_values_github_never_sends_is_refused_and_nothing_is_stored(
    bot: Bot, path: str, value: Any
) -> None:
    """They would not fit where they are stored (PostgreSQL refuses an over-long string, a NUL
    or an out-of-range integer where SQLite keeps it): a 400 naming the field, never a 5xx."""
    _pull(bot, [FileChange("app/clock.py", before=OLD, after=NAIVE)])
    payload = bot.pull_request_payload(REPO, 7, "synchronize")
    _set(payload, path, value)
    response = bot.post("pull_request", payload)
    assert response.status_code == 400, response.text
    assert path.split(".")[-1] in response.json()["error"] or path in response.json()["error"]
    with bot.runtime.db.session() as session:
        assert session.query(Delivery).count() == 0
    assert bot.hub.requests == []


def test_a_pr_from_a_fork_is_evaluated_on_the_base_repository(bot: Bot) -> None:
    head = _pull(bot, [FileChange("app/clock.py", before=OLD, after=NAIVE)])
    payload = bot.pull_request_payload(REPO, 7)
    payload["pull_request"]["head"]["repo"] = dict(
        payload["pull_request"]["head"]["repo"] or {}, full_name="mallory/demo", fork=True
    )
    payload["pull_request"]["head"]["label"] = "mallory:patch-1"
    assert bot.post("pull_request", payload).status_code == 202
    bot.wait(60)
    assert bot.latest_run(REPO, head)["conclusion"] == "failure"


def test_a_deleted_repository_is_done_quietly(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    head = _pull(bot, [FileChange("app/clock.py", before=OLD, after=NAIVE)])
    payload = bot.pull_request_payload(REPO, 7)
    bot.hub.delete_repo(REPO)
    gone = bot.metric("reviewgate_jobs_total", outcome="gone")
    with caplog.at_level(logging.INFO):
        assert bot.post("pull_request", payload).status_code == 202
        bot.wait(60)
    assert bot.metric("reviewgate_jobs_total", outcome="gone") == gone + 1
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)
    assert not bot.hub.requests_to("POST", r"/check-runs$") and head


def test_a_comment_on_a_plain_issue_changes_nothing(bot: Bot) -> None:
    number = bot.hub.add_issue(REPO, author="bob", title="A plain issue")
    payload = json.loads((WEBHOOKS / "issue_comment" / "created.payload.json").read_text())
    payload["issue"].update(number=number, pull_request=None)
    payload["issue"].pop("pull_request", None)
    payload["comment"]["body"] = "/gate waive RG101 because"
    payload["repository"] = bot.hub.shapes.repository(bot.hub.repo(REPO))
    payload["installation"] = {"id": 42, "node_id": "x"}
    response = bot.post("issue_comment", payload)
    assert response.status_code in (202, 204)
    bot.wait(60)
    assert not [r for r in bot.hub.requests if r.method in ("POST", "PATCH") and "/check-runs" in r.path]


def test_binary_py_files_and_a_5_mib_file_get_a_notice_and_the_rest_is_evaluated(bot: Bot) -> None:
    binary = bytes(range(256)) * 64
    huge = ("X = 1\n" * (5 * 1024 * 1024 // 6 + 1)).encode()
    head = _pull(bot, [
        FileChange("app/clock.py", before=OLD, after=NAIVE),
        FileChange("app/blob.py", status="added", after=binary),
        FileChange("app/huge.py", status="added", after=huge),
    ])
    bot.open_pull(REPO, 7)
    bot.wait(120)
    run = bot.latest_run(REPO, head)
    assert (run["status"], run["conclusion"]) == ("completed", "failure")
    levels = {a["path"]: (a["annotation_level"], a["title"].split()[0]) for a in run["annotations"]}
    assert levels == {
        "app/clock.py": ("failure", "RG101"), "app/blob.py": ("notice", "RG001"), "app/huge.py": ("notice", "RG002"),
    }
    summary = run["output"]["summary"]
    assert "`app/blob.py`" in summary and "`app/huge.py`" in summary
    assert "over the limit of 1,048,576" in summary


# -- parse bombs ----------------------------------------------------------------------------------

# About 4 s of CPU for the engine on this machine: a literal of 100,000 elements.
LITERAL_BOMB = ("X = [" + ",".join(["1"] * 100_000) + "]\n").encode()
NESTING_BOMB = ("X = " + "(" * 5000 + ")" * 5000 + "\n").encode()


def test_a_parse_bomb_is_stopped_at_the_cpu_limit_and_the_rest_of_the_pr_is_evaluated(
    make_bot: Callable[..., Bot],
) -> None:
    bot = make_bot(analysis_cpu_seconds=1)
    bot.hub.set_file(REPO, "main", ".github/reviewgate.yml", "rules:\n  timeout_seconds: 600\n")
    head = _pull(bot, [
        FileChange("app/bomb.py", status="added", after=LITERAL_BOMB),
        FileChange("app/deep.py", status="added", after=NESTING_BOMB),
        FileChange("app/clock.py", before=OLD, after=NAIVE),
    ])
    bot.open_pull(REPO, 7)
    bot.wait(120)
    run = bot.latest_run(REPO, head)
    assert (run["status"], run["conclusion"]) == ("completed", "failure")
    assert [a["path"] for a in run["annotations"] if a["annotation_level"] == "failure"] == ["app/clock.py"]
    summary = run["output"]["summary"]
    assert "`app/bomb.py`: Not analysed: the analysis passed its limits (1 s of CPU time" in summary
    assert "`app/deep.py`: Not analysed: the code is nested too deeply" in summary


def test_isolation_bounds_memory_and_keeps_working_after_a_worker_dies() -> None:
    config = rules.RulesConfig(timeout_seconds=600)
    # The literal bomb needs ~0.5 GiB to parse; the worker may have 700 MiB of address space,
    # of which the parser's thread stack reserves 512 MiB (mostly untouched).
    isolation = Isolation(Limits(cpu_seconds=60, memory_bytes=700 * 1024 * 1024, workers=1))
    try:
        # Unbounded, the engine analyses it (no findings); bounded, the allocation fails in the
        # worker and the file gets a notice (the engine's own, or ours if the worker died).
        report, _ = isolation.analyze(LITERAL_BOMB, "bomb.py", config)
        assert [(f.code in ("RG001", "RG002"), str(f.severity)) for f in report.findings] == [(True, "notice")]
        report, finished = isolation.analyze(NAIVE.encode(), "ok.py", config)
        assert finished and [f.code for f in report.findings] == ["RG101"]
    finally:
        isolation.close()


def test_only_the_file_that_stops_a_worker_of_its_own_gets_a_final_notice() -> None:
    config = rules.RulesConfig(timeout_seconds=600)
    # One worker: the good file waits behind the bomb and dies with the pool the bomb breaks.
    isolation = Isolation(Limits(cpu_seconds=1, workers=1))
    results: dict[str, tuple[rules.Report, bool]] = {}
    try:
        bomb = threading.Thread(target=lambda: results.__setitem__("bomb", isolation.analyze(LITERAL_BOMB, "bomb.py", config)))
        bomb.start()
        time.sleep(0.5)
        results["good"] = isolation.analyze(NAIVE.encode(), "ok.py", config)
        bomb.join(60)
    finally:
        isolation.close()
    report, final = results["good"]
    assert final and [f.code for f in report.findings] == ["RG101"]
    report, final = results["bomb"]
    assert final and [f.code for f in report.findings] == ["RG002"]
    assert "passed its limits (1 s of CPU time" in report.findings[0].message
