"""RG101 naive-now, beyond the rule's own examples (test_examples.py runs those)."""

from __future__ import annotations

import pytest

from rules import analyze
from rules.model import Severity

# -- the severity of the naive-datetime rules follows the use ------------------------------


IMPORTS = "import logging\nimport time\nfrom datetime import datetime, timedelta, timezone\n"


@pytest.mark.parametrize(
    ("body", "code", "severity"),
    [
        # an age against the server's local clock
        ("def old(record):\n    return datetime.now() - record.created_at > timedelta(days=365)\n",
         "RG101", "error"),
        ("def stamp(row):\n    row['created_at'] = datetime.now()\n", "RG101", "error"),
        ("def save(Model):\n    return Model(created_at=datetime.utcnow() and datetime.now())\n",
         "RG101", "error"),
        ("def mark(redis, key):\n    redis.hset(key, 'date', datetime.now().isoformat())\n", "RG101", "error"),
        ("def since(session, T):\n    yesterday = datetime.now() - timedelta(days=1)\n"
         "    return session.query(T).filter(T.ts >= yesterday)\n", "RG101", "error"),
        ("def aware(x):\n    return datetime.now().replace(tzinfo=timezone.utc)\n", "RG101", "error"),
        ("def naive():\n    return datetime.now()\n", "RG101", "error"),
        # the local branch of a value that is aware on the other path
        ("def default(field, timezone):\n    if field.aware:\n        value = timezone.now()\n"
         "    else:\n        value = datetime.now()\n    return value\n", "RG101", "warning"),
        ("def test_insert(conn, t):\n    conn.execute(t.insert(), {'at': datetime.now()})\n",
         "RG101", "warning"),
        # a duration, a deadline, display: the zone cannot change the answer
        ("def timed(work):\n    start = datetime.now()\n    work()\n"
         "    elapsed = (datetime.now() - start).total_seconds()\n    return elapsed\n", "RG101", "warning"),
        ("class Sensor:\n    def poke(self):\n        if self.last:\n"
         "            self.idle = (datetime.now() - self.last).total_seconds()\n"
         "        else:\n            self.last = datetime.now()\n", "RG101", "warning"),
        ("class Worker:\n    def idle(self):\n        self._since = self._since or datetime.now()\n"
         "    def keep(self):\n        left = self._since + self.max_idle - datetime.now()\n"
         "        return left > timedelta(0)\n", "RG101", "warning"),
        ("def log_it():\n    logging.info('at %s', datetime.now())\n", "RG101", "warning"),
        ("def name():\n    return 'dump-%s.log' % datetime.now().strftime('%Y%m%d')\n", "RG101", "warning"),
        ("def clock():\n    t = datetime.today()\n    return t.hour + t.minute / 60\n", "RG101", "warning"),
        # a name is followed: kept out of sight is an error, accumulated or handed on in memory is not
        ("def f():\n    stamp = datetime.now()\n", "RG101", "error"),
        ("def f(parts):\n    stamp = datetime.now()\n    parts += (stamp,)\n", "RG101", "warning"),
        ("def f(draw):\n    t = datetime.now()\n    draw(t)\n", "RG101", "warning"),
        ("def f(db):\n    t = datetime.now()\n    db.save(t)\n", "RG101", "error"),
        ("def f(draw):\n    draw(datetime.now())\n", "RG101", "error"),
    ],
)
def test_severity_follows_the_use(body, code, severity):
    findings = [f for f in analyze(IMPORTS + body, "t.py").findings if f.code == code]
    assert findings, body
    assert {str(f.severity) for f in findings} == {severity}, [f.message for f in findings]


def test_message_says_why():
    source = IMPORTS + "def old(record):\n    return datetime.now() < record.created_at\n"
    (finding,) = [f for f in analyze(source, "t.py").findings if f.code == "RG101"]
    assert "compared with `record.created_at`" in finding.message
    source = IMPORTS + "def f():\n    logging.info('at %s', datetime.now())\n"
    (finding,) = [f for f in analyze(source, "t.py").findings if f.code == "RG101"]
    assert "log line" in finding.message and "warning" in finding.message


def test_a_name_is_followed_to_its_risky_use():
    source = IMPORTS + (
        "def f(row):\n    stamp = datetime.now()\n    logging.info('%s', stamp)\n"
        "    row['updated_at'] = stamp\n"
    )
    (finding,) = [f for f in analyze(source, "t.py").findings if f.code == "RG101"]
    assert finding.severity == Severity.ERROR and "'updated_at'" in finding.message


def test_safe_fixes_never_leave_a_naive_reading_to_meet_an_aware_one():
    """`--fix` once made `self.lock_acquisition_time` aware and left the naive reading it is
    subtracted from elsewhere: the fixed code raised TypeError. Safe fixes alone must run."""
    from rules.engine import fix_source

    code = (
        "from datetime import datetime\n"
        "class Lock:\n"
        "    def acquire(self):\n"
        "        self.lock_acquisition_time = datetime.now()\n"
        "    def held_for(self):\n"
        "        return datetime.now() - self.lock_acquisition_time\n"
    )
    fixed, _ = fix_source(code, "lock.py")
    namespace: dict[str, object] = {}
    exec(compile(fixed, "lock.py", "exec"), namespace)  # noqa: S102
    lock = namespace["Lock"]()
    lock.acquire()
    assert lock.held_for().total_seconds() >= 0
    fixed_all, applied = fix_source(code, "lock.py", unsafe=True)
    assert applied == 2 and fixed_all.count("timezone.utc") == 2  # both, or neither
