"""RG207 silent-local-fallback, beyond the rule's own examples (test_examples.py runs those)."""

from __future__ import annotations

import textwrap

import pytest

from rules import analyze

OURS = {"RG201", "RG204", "RG207"}


def found(source: str) -> list[tuple[str, int]]:
    report = analyze(textwrap.dedent(source), "example.py")
    return [(f.code, f.line) for f in report.findings if f.code in OURS]


def test_local_fallback_is_reported_on_the_except_line():
    src = """\
        import json
        import logging
        from botocore.exceptions import ClientError

        def archive(s3, record):
            try:
                s3.put_object(Bucket="b", Key=record["id"], Body=json.dumps(record))
            except ClientError:
                logging.exception("upload failed, kept locally")
                with open("/var/spool/pending.jsonl", "a") as fh:
                    fh.write(json.dumps(record) + "\\n")
    """
    assert found(src) == [("RG207", 8)]


def test_same_destination_by_other_means_is_not_a_fallback():
    src = """\
        import os, shutil

        def place(src, dst):
            try:
                os.replace(src, dst)
            except OSError:
                shutil.move(src, dst)
    """
    assert found(src) == []


@pytest.mark.parametrize(
    "tail",
    ["raise", "return False", "self.pending = True", "sys.exit(1)", "failures.append(rec)"],
)
def test_fallback_that_tells_someone_is_fine(tail):
    src = (
        "import shutil, sys\nclass S:\n    def f(self, db, rec, failures):\n        try:\n"
        "            db.save(rec)\n        except Exception:\n"
        f"            shutil.copy(rec, '/tmp/spool')\n            {tail}\n"
    )
    assert found(src) == [], src


def test_narrow_catch_creating_a_missing_file_is_not_a_fallback():
    src = """\
        import json

        def load(path):
            try:
                with open(path) as fh:
                    return json.load(fh)
            except FileNotFoundError:
                with open(path, "w") as fh:
                    json.dump({}, fh)
    """
    assert found(src) == []


# Fallbacks as they appear in incident reports: the upload fails, the data goes to local disk,
# and the caller carries on as if it had been stored.
INCIDENTS = {
    "s3 report kept in /tmp": ("""\
        import json, logging, os
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        log = logging.getLogger(__name__)
        s3 = boto3.client("s3")

        def save_report(report_id, payload):
            body = json.dumps(payload)
            try:
                s3.put_object(Bucket="reports", Key=f"{report_id}.json", Body=body)
            except (ClientError, BotoCoreError):
                log.warning("S3 unavailable, keeping report %s locally", report_id)
                path = os.path.join("/tmp", f"{report_id}.json")
                with open(path, "w") as fh:
                    fh.write(body)
    """, 12),
    "event spooled with Path.write_text": ("""\
        import json
        from pathlib import Path
        import requests

        SPOOL = Path("/var/spool/events")

        def send(event):
            try:
                resp = requests.post("https://api.example.com/events", json=event, timeout=5)
                resp.raise_for_status()
            except requests.RequestException:
                (SPOOL / f"{event['id']}.json").write_text(json.dumps(event))
    """, 11),
    "batch pickled to disk when the database is down": ("""\
        import logging, pickle, time

        logger = logging.getLogger(__name__)

        class Writer:
            def flush(self):
                batch, self.buffer = self.buffer, []
                try:
                    self.db.bulk_insert(batch)
                except Exception:
                    logger.exception("db down; spooling %d rows", len(batch))
                    with open(f"/tmp/spool-{time.time()}.pkl", "wb") as fh:
                        pickle.dump(batch, fh)
    """, 10),
    "failed orders appended to a CSV": ("""\
        import csv
        from sqlalchemy.exc import SQLAlchemyError

        def save_orders(session, orders):
            try:
                session.add_all(orders)
                session.commit()
            except SQLAlchemyError:
                session.rollback()
                with open("failed_orders.csv", "a", newline="") as fh:
                    csv.writer(fh).writerows(o.as_row() for o in orders)
    """, 8),
    "upload skipped with a bare return": ("""\
        import os, shutil
        from botocore.exceptions import ClientError

        def upload(s3, local, key):
            try:
                s3.upload_file(local, "bucket", key)
            except ClientError:
                shutil.copy(local, "/var/spool/uploads")
                return
            os.remove(local)
    """, 7),
    "payload left in a temporary file": ("""\
        import os, tempfile
        import httpx

        def push(client, data):
            try:
                client.post("/ingest", content=data).raise_for_status()
            except httpx.HTTPError:
                fd, path = tempfile.mkstemp(prefix="ingest-")
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
    """, 7),
    "kept temporary file from NamedTemporaryFile": ("""\
        import tempfile
        import requests

        def push(url, rows):
            try:
                requests.post(url, json=rows, timeout=10).raise_for_status()
            except requests.RequestException:
                fh = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
                fh.write(str(rows))
                fh.close()
    """, 7),
    "worker loop writing undelivered items to /tmp": ("""\
        import json, logging
        import requests

        log = logging.getLogger(__name__)

        def worker(queue, url):
            while True:
                item = queue.get()
                try:
                    requests.post(url, json=item, timeout=5).raise_for_status()
                except Exception:
                    log.exception("post failed")
                    with open("/tmp/undelivered.jsonl", "a") as fh:
                        fh.write(json.dumps(item) + "\\n")
    """, 11),
    "spool helper of the same class": ("""\
        import json, logging, os, time

        log = logging.getLogger(__name__)

        class EventSink:
            def _save_locally(self, events):
                path = os.path.join(self.spool_dir, f"{time.time()}.json")
                with open(path, "w") as fh:
                    json.dump(events, fh)

            def flush(self, events):
                try:
                    self.api.post_batch(events)
                except Exception:
                    log.warning("API down, saved %d events locally", len(events))
                    self._save_locally(events)
    """, 14),
    "spool function of the same module": ("""\
        import pickle
        import redis

        def spool(item):
            with open("/var/lib/app/spool.pkl", "ab") as fh:
                pickle.dump(item, fh)

        def enqueue(client, item):
            try:
                client.rpush("jobs", pickle.dumps(item))
            except redis.RedisError:
                spool(item)
    """, 11),
}


@pytest.mark.parametrize("name", list(INCIDENTS))
def test_incident_fallbacks_are_errors(name):
    src, line = INCIDENTS[name]
    findings = [f for f in analyze(textwrap.dedent(src), "x.py").findings if f.code == "RG207"]
    assert [(f.line, f.severity.value) for f in findings] == [(line, "error")]


def test_return_none_reports_the_failure_when_the_function_returns_a_value():
    src = """\
        import shutil

        def upload(s3, local, key):
            try:
                s3.upload_file(local, "bucket", key)
            except Exception:
                shutil.copy(local, "/var/spool/uploads")
                return None
            return key
    """
    assert found(src) == []


@pytest.mark.parametrize(
    ("helper", "tail"),
    [
        # the destination is the caller's: the same place by other means
        ("def _copy(src, dst):\n    shutil.copy2(src, dst)\n", ""),
        ("def _copy(src, dst):\n    target = dst + '.tmp'\n    shutil.copy2(src, target)\n", ""),
        # the helper tells: it raises after keeping the copy
        ("def _copy(src, dst):\n    shutil.copy2(src, '/var/spool')\n    raise RuntimeError(src)\n", ""),
        # the handler tells after calling it
        ("def _copy(src, dst):\n    shutil.copy2(src, '/var/spool')\n", "\n        raise"),
    ],
)
def test_helpers_that_are_not_silent_local_fallbacks(helper, tail):
    src = (
        f"import os, shutil\n{helper}\ndef place(src, dst):\n    try:\n        os.replace(src, dst)\n"
        f"    except OSError:\n        _copy(src, dst){tail}\n"
    )
    assert found(src) == [], src


def test_message_names_the_helper_and_its_write():
    src, _ = INCIDENTS["spool helper of the same class"]
    [finding] = [f for f in analyze(textwrap.dedent(src), "x.py").findings if f.code == "RG207"]
    assert "`self._save_locally(...)`, which calls `open(..., 'w')`" in finding.message


def test_temporary_file_deleted_on_close_is_scratch_space():
    src = """\
        import subprocess, tempfile

        def push(client, data):
            try:
                client.upload(data)
            except Exception:
                with tempfile.NamedTemporaryFile() as fh:
                    fh.write(data)
                    subprocess.run(["push-cli", fh.name], check=True)
    """
    assert found(src) == []
