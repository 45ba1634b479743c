"""GitHub's published REST data, from ``tests/fixtures/github`` (its README names the sources).

The examples give the fake its response shapes; the OpenAPI subset checks what it serves.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any

GITHUB_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "github"
SPEC_PATH = GITHUB_FIXTURES / "rest-openapi-subset.json"
EXAMPLES_DIR = GITHUB_FIXTURES / "rest-examples"

MISSING_REASON = (
    f"GitHub REST fixtures not found at {GITHUB_FIXTURES} (they are part of the "
    "repository: a checkout without them is incomplete)"
)


def available() -> bool:
    return SPEC_PATH.is_file() and EXAMPLES_DIR.is_dir()


@functools.cache
def _example_file(operation_id: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((EXAMPLES_DIR / f"{operation_id}.json").read_text())
    return result


def example(operation_id: str, status: str = "200", name: str | None = None) -> Any:
    """A fresh copy of GitHub's example response body for an operation."""
    examples = _example_file(operation_id)["responses"][status]["application/json"]
    chosen = examples[name] if name else next(iter(examples.values()))
    return copy.deepcopy(chosen["value"])


@functools.cache
def spec() -> dict[str, Any]:
    result: dict[str, Any] = json.loads(SPEC_PATH.read_text())
    return result


@functools.cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    out = []
    for template in spec()["paths"]:
        # `{path}` of the contents endpoint spans slashes; every other parameter is one segment.
        regex = re.sub(
            r"\{(\w+)\}",
            lambda m: "(?:.+)" if m.group(1) == "path" else "(?:[^/]+)",
            template,
        )
        out.append((re.compile(f"^{regex}$"), template))
    # Literal segments win over parameters (`/app/hook/...` vs `/app/installations/{id}`).
    out.sort(key=lambda item: item[1].count("{"))
    return out


def operation_template(method: str, path: str) -> str | None:
    for regex, template in _templates():
        if regex.match(path) and method.lower() in spec()["paths"][template]:
            return template
    return None


def _media_schema(container: dict[str, Any] | None) -> dict[str, Any] | None:
    if not container:
        return None
    media = container.get("content", {}).get("application/json")
    if media is None or "schema" not in media:
        return None
    # The contents endpoint's discriminator names `#/components/schemas/...`: resolve from here.
    schema: dict[str, Any] = dict(_as_github_means(media["schema"]), components=spec()["components"])
    return schema


def _as_github_means(schema: Any) -> Any:
    """Two readings of GitHub's description that the validator takes too literally.

    - A bare ``discriminator`` (no mapping) on inline ``oneOf`` variants (check runs'
      ``status``): the validator looks the value up as a component name and fails; the
      ``oneOf`` alone says what GitHub means.
    - ``nullable: true`` with an ``enum`` that does not list null (a check run's
      ``conclusion`` while in progress): GitHub sends null there, so null is allowed.
    """
    if isinstance(schema, dict):
        out = {
            k: _as_github_means(v)
            for k, v in schema.items()
            if not (k == "discriminator" and isinstance(v, dict) and "mapping" not in v)
        }
        if out.get("nullable") is True and isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        return out
    if isinstance(schema, list):
        return [_as_github_means(v) for v in schema]
    return schema


@functools.cache
def _validator(template: str, method: str, status: str, request: bool) -> Any:
    from openapi_schema_validator import OAS30Validator

    operation = spec()["paths"][template][method]
    if request:
        schema = _media_schema(operation.get("requestBody"))
    else:
        schema = _media_schema(operation["responses"].get(status))
    return None if schema is None else OAS30Validator(schema)


def _errors(validator: Any, body: Any) -> list[str]:
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message[:300]}"
        for error in validator.iter_errors(body)
    ]


def check_response(method: str, path: str, status: int, body: Any) -> tuple[bool, list[str]]:
    """``(covered, problems)``: covered is False when the subset has no schema for this answer."""
    template = operation_template(method, path)
    if template is None:
        return False, []
    validator = _validator(template, method.lower(), str(status), False)
    if validator is None:
        return False, []
    return True, _errors(validator, body)


def check_request(method: str, path: str, body: Any) -> list[str] | None:
    """Problems of a request body against the operation's schema, None when there is none."""
    template = operation_template(method, path)
    if template is None:
        return None
    validator = _validator(template, method.lower(), "", True)
    if validator is None:
        return None
    return _errors(validator, body)
