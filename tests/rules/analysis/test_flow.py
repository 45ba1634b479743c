"""The per-unit scan of local names (analysis/flow.py)."""

from __future__ import annotations

import textwrap

import libcst as cst

from rules.analysis.flow import local_flow


def test_local_flow_records_bindings_reads_and_nested_uses():
    module = cst.parse_module(
        textwrap.dedent(
            """\
            def f(p):
                a = 1
                b: int = a
                for c in p:
                    a += c
                (d := 2)
                g = lambda q: a + q
                def inner():
                    return b
                return d
            """
        )
    )
    func = module.body[0]
    assert isinstance(func, cst.FunctionDef)
    flow = local_flow(func)
    kinds = {name: [v is not None for v in values] for name, values in flow.assigned.items()}
    assert kinds == {
        "p": [False], "a": [True, False], "b": [True], "c": [False], "d": [True],
        "g": [True], "q": [False], "inner": [False],
    }
    assert {"a", "q", "b"} <= flow.nested and "d" not in flow.nested
    assert len(flow.loads["a"]) == 3  # `b: int = a`, `a += c`, the lambda
    assert not any(isinstance(n, cst.Return) and n.value is not None and
                   isinstance(n.value, cst.Name) and n.value.value == "b" for n in flow.nodes)
    shallow = local_flow(func, nested_bodies=False)
    assert "b" not in shallow.nested and {"a", "q"} <= shallow.nested
