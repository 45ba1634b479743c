"""RG202 unchecked-http-write, beyond the rule's own examples (test_examples.py runs those)."""

from __future__ import annotations

import textwrap

import pytest

from rules import Severity, analyze
from rules.engine import fix_source


def findings(code: str, rule: str) -> list[tuple[int, Severity]]:
    report = analyze(textwrap.dedent(code), "example.py")
    return [(f.line, f.severity) for f in report.findings if f.code == rule and not f.suppressed]


def lines(code: str, rule: str) -> list[int]:
    return [line for line, _ in findings(code, rule)]


def test_unchecked_response_is_reported_on_the_assignment_line():
    code = """\
        import requests

        def save(url, record):
            response = requests.put(
                url,
                json=record,
            )
            log(response.text)
            return response.json()
        """
    assert findings(code, "RG202") == [(4, Severity.ERROR)]


@pytest.mark.parametrize(
    ("body", "flagged"),
    [
        # a query sent as a POST (GraphQL, search): the answer is the data
        ("return requests.post(url, json=query).json()", False),
        ("return requests.post(url, json=query).json()['data']", False),
        ("r = requests.post(url, json=query)\n    return r.json()", False),
        ("r = requests.post(url, json=query)\n    data = r.json()\n    return data['items']", False),
        ("data = requests.post(url, json=query).json()\n    for item in data['hits']:\n        use(item)", False),
        ("r = requests.post(url, json=query)\n    return parse(r.text)", False),
        # a write: its answer is never used as data
        ("requests.post(url, json=query)", True),
        ("r = requests.post(url, json=query)\n    log.info(r.text)", True),
        ("print(requests.post(url, json=query).text)", True),
        ("r = requests.put(url, json=query)\n    return r.json()", True),
    ],
)
def test_a_post_whose_answer_is_the_data_is_a_query(body, flagged):
    code = f"import requests\ndef f(url, query, log, use, parse):\n    {body}\n"
    assert bool(findings(code, "RG202")) is flagged, code


def test_discarded_awaited_response_is_reported_on_the_call_line():
    code = """\
        import httpx

        async def save(url, record):
            async with httpx.AsyncClient() as client:
                await client.put(
                    url, json=record
                )
        """
    assert lines(code, "RG202") == [5]


def test_a_module_session_bound_after_the_function_is_recognised():
    code = """\
        import requests

        def delete(url):
            session.delete(url)

        session = requests.Session()
        """
    assert lines(code, "RG202") == [4]


def test_a_local_name_shadowing_the_module_session_is_not_a_session():
    code = """\
        import requests

        session = requests.Session()

        def delete(url):
            session = make_client()
            session.delete(url)
        """
    assert lines(code, "RG202") == []


def test_a_session_bound_twice_in_different_ways_is_unknown():
    code = """\
        import requests

        def send(url, session=None):
            if session is None:
                session = requests.Session()
            session.post(url)
        """
    assert lines(code, "RG202") == []


def test_a_check_anywhere_in_the_function_counts():
    code = """\
        import requests

        def send(urls):
            for url in urls:
                r = requests.post(url)
                results.append(r.status_code)
        """
    assert lines(code, "RG202") == []


def test_the_raise_for_status_fix_is_unsafe():
    code = "import requests\nrequests.put(url, data=blob)\n"
    assert fix_source(code, "example.py", codes={"RG202"}) == (code, 0)
    fixed, applied = fix_source(code, "example.py", codes={"RG202"}, unsafe=True)
    assert applied == 1
    assert fixed == "import requests\nrequests.put(url, data=blob).raise_for_status()\n"


def test_a_session_the_class_assigns_to_self_is_an_http_client():
    code = """\
        import requests

        class Api:
            def __init__(self, token):
                self.session = None
                self.token = token

            def connect(self):
                self.session = requests.Session()

            def save(self, url, record):
                self.session.post(url, json=record)

            def load(self, url):
                self.token.post(url)
        """
    assert findings(code, "RG202") == [(12, Severity.ERROR)]


def test_a_session_attribute_given_a_response_hook_is_not_flagged():
    code = """\
        import requests

        class Api:
            def __init__(self):
                self.session = requests.Session()
                self.session.hooks["response"].append(raise_for_status)

            def save(self, url, record):
                self.session.post(url, json=record)
        """
    assert lines(code, "RG202") == []


def test_request_with_a_literal_write_method_is_a_write():
    code = """\
        import requests

        def save(url, record, method):
            requests.request("PUT", url, json=record)
            requests.request(method, url, json=record)
            requests.request("get", url)
            response = requests.request(method="DELETE", url=url)
            return response.json()
        """
    assert lines(code, "RG202") == [4, 7]


def test_an_attribute_bound_in_an_unknown_way_is_not_a_client():
    code = """\
        import requests

        class Api:
            def __init__(self):
                self.session, self.base = requests.Session(), "https://api"

            def save(self, record):
                self.session.post(self.base, json=record)
        """
    assert lines(code, "RG202") == []
    known = code.replace(
        'self.session, self.base = requests.Session(), "https://api"',
        'self.session = requests.Session()\n                self.base = "https://api"',
    )
    assert lines(known, "RG202") == [9]
