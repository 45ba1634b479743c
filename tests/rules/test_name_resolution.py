"""Names resolved through every kind of binding: relative and star imports, walrus targets,
`match` captures, and module-level constants."""

from __future__ import annotations

import libcst as cst
import pytest

from rules import analyze
from rules.scope import collect_scopes


def codes(code: str) -> list[str]:
    return [f.code for f in analyze(code, "m.py").findings]


def resolve(code: str, name: str) -> str | None:
    module = cst.parse_module(code)
    return collect_scopes(module)[module].resolve(name)


@pytest.mark.parametrize(
    ("code", "name", "expected"),
    [
        ("from . import tasks\n", "tasks", ".tasks"),
        ("from .jobs import run as go\n", "go", ".jobs.run"),
        ("from ..pkg.mod import f\n", "f", "..pkg.mod.f"),
        ("from datetime import *\n", "datetime", "datetime.datetime"),
        ("from datetime import *\n", "timezone", "datetime.timezone"),
        ("from mystery import *\n", "datetime", "builtins.datetime"),  # unknown: nothing bound
        ("from datetime import datetime\nif (datetime := load()):\n    pass\n", "datetime", None),
        ("import datetime\nmatch x:\n    case {'at': datetime}:\n        pass\n", "datetime", None),
        ("import datetime\nmatch x:\n    case datetime.MINYEAR:\n        pass\n", "datetime", "datetime"),
    ],
)
def test_bindings(code, name, expected):
    assert resolve(code, name) == expected


def test_a_star_import_of_datetime_is_resolved():
    assert codes("from datetime import *\ndef f(row):\n    row['at'] = datetime.now()\n") == ["RG101"]


def test_walrus_and_match_bindings_shadow_the_import():
    assert codes(
        "from datetime import datetime\ndef f(make, row):\n"
        "    if (datetime := make()) is not None:\n        row['at'] = datetime.now()\n"
    ) == []
    assert codes(
        "from datetime import datetime\ndef f(x, row):\n    match x:\n"
        "        case [datetime, *_]:\n            row['at'] = datetime.now()\n"
    ) == []


def test_a_function_imported_relatively_is_submitted_like_any_other():
    code = "from .storage import upload\ndef f(executor, blob):\n    executor.submit(upload, blob)\n"
    assert codes(code) == ["RG205"]


def test_a_module_constant_format_is_read():
    code = (
        "from datetime import datetime\n_TIMESTAMP_FORMAT = '%Y%m%d %H%M'\n"
        "def load(row, text):\n    row['created_at'] = datetime.strptime(text, _TIMESTAMP_FORMAT)\n"
    )
    assert codes(code) == ["RG105"]
