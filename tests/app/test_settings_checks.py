"""The pure parts of setup and start-up: `.env` editing, problem lines, unknown names, the
manifest and the conversion's answer."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from dotenv import dotenv_values
from pydantic import SecretStr

from bot.env_file import quoted, update_env_file, updated, write_private
from bot.settings import PrivateKeyUnreadable, Settings, _problem_line, unknown_setting_names
from bot.web.setup import ConversionFailed, manifest, parse_conversion, registration_url
from tests.fakehub.hub import _app_key


def test_env_update_replaces_in_place_keeps_the_rest_and_appends() -> None:
    text = "# made by make run\nREVIEWGATE_WEBHOOK_SECRET=old\nexport REVIEWGATE_PORT=3001\nREVIEWGATE_PRIVATE_KEY=x\n" \
        "REVIEWGATE_WEBHOOK_SECRET=older\n"
    out = updated(text, {"REVIEWGATE_WEBHOOK_SECRET": "new", "REVIEWGATE_PRIVATE_KEY": None, "REVIEWGATE_APP_ID": "7"})
    assert out == "# made by make run\nREVIEWGATE_WEBHOOK_SECRET=new\nexport REVIEWGATE_PORT=3001\nREVIEWGATE_APP_ID=7\n"


def test_env_values_read_back_unchanged(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    values = {"A": "Iv1.0123abcd", "B": "/srv/with space/key.pem", "C": "a#b=c"}
    update_env_file(path, values)
    assert dotenv_values(path) == values
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(ValueError):
        quoted("it's")
    with pytest.raises(ValueError):
        quoted("two\nlines")


def test_private_files_are_replaced_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_text("old")
    path.chmod(0o644)
    write_private(path, "new")
    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["key.pem"]


def test_problem_lines_name_secrets_without_their_values() -> None:
    error: dict[str, Any] = {"loc": ("client_secret",), "msg": "Input should be a valid string", "input": "hunter2"}
    assert _problem_line(error) == "REVIEWGATE_CLIENT_SECRET: Input should be a valid string"
    error = {"loc": ("port",), "msg": "Input should be a valid integer", "input": "x" * 200}
    line = _problem_line(error)
    assert line.startswith("REVIEWGATE_PORT='xxx") and line.endswith("...: Input should be a valid integer")
    assert len(line) < 140


def test_unknown_names_get_the_closest_known_one() -> None:
    assert unknown_setting_names(["REVIEWGATE_APPID", "REVIEWGATE_PORT", "PATH", "REVIEWGATE_QQQQQQQQ"]) == [
        "unknown setting REVIEWGATE_APPID is ignored; did you mean REVIEWGATE_APP_ID?",
        "unknown setting REVIEWGATE_QQQQQQQQ is ignored",
    ]
    assert unknown_setting_names(["reviewgate_port"]) == []  # names are read case-insensitively


def test_a_copy_with_a_new_key_reads_the_new_key() -> None:
    broken = Settings(_env_file=None, app_id=1, private_key=SecretStr("not a key"))  # type: ignore[call-arg]
    with pytest.raises(PrivateKeyUnreadable):
        broken.check_github_app()
    fixed = broken.with_values(private_key=SecretStr(_app_key()[0]))
    fixed.check_github_app()
    assert broken.private_key_problem is not None


def test_the_manifest_points_at_this_server() -> None:
    base = {"name": "Reviewgate", "url": "https://x", "hook_attributes": {"url": "https://example/webhook"},
            "default_events": ["pull_request"]}
    got = manifest(base, "https://gate.example.org")
    assert got["hook_attributes"] == {"url": "https://gate.example.org/webhook", "active": True}
    assert got["redirect_url"] == "https://gate.example.org/setup/callback"
    assert got["callback_urls"] == ["https://gate.example.org/login/callback"]
    assert base["hook_attributes"] == {"url": "https://example/webhook"}  # not modified
    assert registration_url("https://ghe.local", None, "s") == "https://ghe.local/settings/apps/new?state=s"
    assert registration_url("https://github.com", "my-org", "a/b") == (
        "https://github.com/organizations/my-org/settings/apps/new?state=a%2Fb"
    )


@pytest.mark.parametrize("change", [
    {"id": "1"}, {"id": True}, {"id": 0}, {"pem": None}, {"webhook_secret": ""}, {"html_url": "javascript:alert(1)"},
    {"client_id": 5},
])
def test_a_conversion_answer_without_usable_fields_is_refused(change: dict[str, Any]) -> None:
    answer = {"id": 1, "slug": "gate", "name": "Gate", "pem": "k", "webhook_secret": "s",
              "html_url": "https://github.com/apps/gate", "client_id": "Iv1.x", "client_secret": "c"}
    assert parse_conversion(answer).id == 1
    with pytest.raises(ConversionFailed):
        parse_conversion({**answer, **change})
