"""RG109 frozen-now, beyond the rule's own examples (test_examples.py runs those)."""

from __future__ import annotations

import textwrap

import libcst as cst

from rules import analyze
from rules.engine import fix_source


def findings(code: str, rule: str, **kwargs):
    report = analyze(textwrap.dedent(code), "example.py", **kwargs)
    return [f for f in report.findings if f.code == rule]


def lines(code: str, rule: str) -> list[int]:
    return [f.line for f in findings(code, rule)]


def fixed(code: str, rule: str, *, unsafe: bool = False) -> str:
    text, _ = fix_source(textwrap.dedent(code), "example.py", codes={rule}, unsafe=unsafe)
    cst.parse_module(text)
    return text


def test_default_argument_is_flagged_at_the_call():
    code = """\
    import datetime as dt
    def log(msg,
            at=dt.datetime.now(dt.timezone.utc)):
        print(at, msg)
    """
    [finding] = findings(code, "RG109")
    assert (finding.line, finding.column) == (3, 12)
    assert finding.fix is None
    assert "def log" in finding.message


def test_runtime_reads_in_bodies_are_not_flagged():
    code = """\
    import time
    class Job:
        started = None
        def start(self, clock=time.monotonic):
            self.started = clock()
            return [time.time() for _ in range(2)]
    """
    assert findings(code, "RG109") == []


def test_sqlalchemy_column_fix_keeps_other_arguments():
    code = """\
    from datetime import datetime, timezone
    from sqlalchemy import Column, DateTime
    class Row(Base):
        at = Column(DateTime, nullable=False, default=datetime.now(timezone.utc))
    """
    [finding] = findings(code, "RG109")
    assert finding.fix is not None and not finding.fix.safe
    assert fixed(code, "RG109") == textwrap.dedent(code)  # unsafe: not applied by default
    assert "default=lambda: datetime.now(timezone.utc))" in fixed(code, "RG109", unsafe=True)


def test_field_with_a_factory_already_gets_no_fix():
    code = """\
    import dataclasses, time
    @dataclasses.dataclass
    class Event:
        at: float = dataclasses.field(default=time.time(), default_factory=time.time)
    """
    [finding] = findings(code, "RG109")
    assert finding.fix is None


def test_module_variable_in_the_value_blocks_the_fix():
    code = """\
    import dataclasses
    from datetime import datetime
    TZ = None
    @dataclasses.dataclass
    class Event:
        at: datetime = datetime.now(TZ)
    """
    [finding] = findings(code, "RG109")
    assert finding.fix is None


def test_frozen_value_in_a_field_outside_a_class():
    code = """\
    import time
    import sqlalchemy as sa
    def make_table(meta):
        return sa.Table('t', meta, sa.Column('at', sa.Float, onupdate=time.time()))
    """
    assert lines(code, "RG109") == [4]


def test_class_attribute_holding_a_field_call_is_not_wrapped_again():
    code = """\
    import time
    from dataclasses import dataclass, field
    @dataclass
    class Event:
        at: float = field(metadata={'loaded': time.time()})
    """
    [finding] = findings(code, "RG109")
    assert finding.fix is None


# -- class attributes the class reassigns --------------------------------------------------


def test_class_attribute_reassigned_through_self_or_cls_is_an_initial_value():
    code = """\
    import time
    from datetime import datetime, timezone
    class Notify:
        reset_at = datetime.now(timezone.utc)
        last = time.time()
        def fetch(self, headers):
            self.reset_at = datetime.fromtimestamp(int(headers['reset']), timezone.utc)
        @classmethod
        def mark(cls):
            cls.last = time.time()
    """
    assert findings(code, "RG109") == []


def test_reassignment_of_a_model_field_or_of_another_class_does_not_count():
    code = """\
    import time
    from dataclasses import dataclass
    from pydantic import BaseModel
    @dataclass
    class Seen:
        at: float = time.time()
        def touch(self):
            self.at = time.time()
    class Event(BaseModel):
        at: float = time.time()
        def touch(self):
            self.at = time.time()
    class Frozen:
        loaded = time.time()
    class Other:
        def touch(self):
            self.loaded = time.time()
    """
    assert lines(code, "RG109") == [6, 10, 14]
