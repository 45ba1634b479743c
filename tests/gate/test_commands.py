"""`/gate` commands: parsing, who may run them, and the texts the bot replies with."""

from __future__ import annotations

import pytest

import rules
from bot.policy.commands import HELP_TEXT, Command, authorize, explain, parse_commands


def names(body: str) -> list[tuple[str, tuple[str, ...]]]:
    return [(c.name, c.args) for c in parse_commands(body)]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/gate help", [("help", ())]),
        ("/gate", [("help", ())]),
        ("/GATE Help", [("help", ())]),
        ("/gate explain rg101", [("explain", ("RG101",))]),
        ("/gate recheck", [("recheck", ())]),
        ("/gate waive RG201 retries are handled by the caller",
         [("waive", ("RG201", "retries are handled by the caller"))]),
        ("/gate WAIVE rg2   the whole   storage family ", [("waive", ("RG2", "the whole storage family"))]),
        ("/gate unwaive RG201", [("unwaive", ("RG201",))]),
        ("/gate hold", [("hold", ())]),
        ("/gate hold until the migration ships", [("hold", ("until the migration ships",))]),
        ("/gate unhold", [("unhold", ())]),
        ("  /gate recheck", [("recheck", ())]),
        ("/gate\trecheck", [("recheck", ())]),
        ("LGTM\n/gate waive RG201 ok here\n/gate unhold\r\nthanks", [("waive", ("RG201", "ok here")), ("unhold", ())]),
        ("Please run /gate recheck", []),
        ("/gateway recheck", []),
        ("> /gate waive RG201 quoted from an earlier comment", []),
        ("    /gate recheck", []),
        ("```\n/gate waive RG201 inside a code block\n```\n/gate recheck", [("recheck", ())]),
        ("~~~text\n/gate hold\n```\n/gate hold\n~~~\n/gate unhold", [("unhold", ())]),
        ("", []),
    ],
)
def test_parse_commands(body: str, expected: list[tuple[str, tuple[str, ...]]]) -> None:
    assert names(body) == expected


def test_raw_keeps_the_line_and_reason_is_exposed() -> None:
    (waive,) = parse_commands("/gate waive RG201   flaky   disk")
    assert waive.raw == "/gate waive RG201   flaky   disk"
    assert (waive.code, waive.reason, waive.error) == ("RG201", "flaky disk", "")
    (hold,) = parse_commands("/gate hold release freeze")
    assert (hold.code, hold.reason) == ("", "release freeze")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("/gate waive RG201", "A waiver needs a reason. Usage: `/gate waive RG201 <reason>`."),
        ("/gate waive", "A rule code is missing."),
        ("/gate waive everything because", "`EVERYTHING` is not a rule code or prefix"),
        ("/gate waive RG because", "`RG` is not a rule code or prefix"),
        ("/gate unwaive", "Usage: `/gate unwaive RG201`."),
        ("/gate explain", "Usage: `/gate explain RG101`."),
        ("/gate approve", "`/gate approve` is not a command."),
    ],
)
def test_malformed_commands_are_refused_with_usage(body: str, error: str) -> None:
    (command,) = parse_commands(body)
    assert error in command.error
    ok, why = authorize(command, "bob", "User", "alice", "admin")
    assert not ok
    assert error in why and "`/gate help`" in why


WAIVE = Command("waive", ("RG201", "reviewed"), "/gate waive RG201 reviewed")


@pytest.mark.parametrize(
    ("command", "actor", "actor_type", "permission", "ok", "why"),
    [
        (Command("help", (), "/gate help"), "stranger", "User", "none", True, ""),
        (Command("explain", ("RG101",), "/gate explain RG101"), "stranger", "User", None, True, ""),
        (Command("recheck", (), "/gate recheck"), "bob", "User", "write", True, ""),
        (Command("recheck", (), "/gate recheck"), "alice", "User", "write", True, ""),
        (Command("recheck", (), "/gate recheck"), "rita", "User", "read", False,
         "`/gate recheck` needs write permission on this repository; @rita has read."),
        (Command("hold", (), "/gate hold"), "erin", "User", "triage", False, "@erin has triage"),
        (Command("unhold", (), "/gate unhold"), "carol", "User", "maintain", True, ""),
        (WAIVE, "dave", "User", "admin", True, ""),
        (WAIVE, "bob", "User", "write", True, ""),
        (WAIVE, "alice", "User", "admin", False, "the author of a pull request may not waive its findings"),
        (WAIVE, "Alice", "User", "admin", False, "may run `/gate waive RG201 <reason>`"),
        (WAIVE, "rita", "User", "read", False, "Someone with write, maintain or admin permission may run it."),
        (WAIVE, "stranger", "User", None, False, "@stranger has none"),
        (Command("unwaive", ("RG201",), "/gate unwaive RG201"), "alice", "User", "write", True, ""),
        (WAIVE, "ci[bot]", "Bot", "admin", False, ""),
        (WAIVE, "reviewgate[bot]", "User", "admin", False, ""),
        (Command("help", (), "/gate help"), "ci-helper", "Bot", "admin", False, ""),
    ],
)
def test_authorize(command: Command, actor: str, actor_type: str, permission: str | None, ok: bool,
                   why: str) -> None:
    allowed, reason = authorize(command, actor, actor_type, "alice", permission)
    assert allowed is ok
    if why:
        assert why in reason
    else:
        assert reason == ""


HOLD = Command("hold", ("mine",), "/gate hold mine")
UNHOLD = Command("unhold", (), "/gate unhold")


@pytest.mark.parametrize(
    ("command", "actor", "permission", "hold", "ok", "why"),
    [
        (UNHOLD, "bob", "write", None, True, ""),  # nothing on hold
        (UNHOLD, "mia", "maintain", ("mia", "maintain"), True, ""),
        (UNHOLD, "MIA", "maintain", ("mia", "maintain"), True, ""),
        (UNHOLD, "alice", "write", ("alice", "write"), True, ""),  # the author lifts her own hold
        (UNHOLD, "max", "maintain", ("mia", "maintain"), True, ""),
        (UNHOLD, "ada", "admin", ("mia", "maintain"), True, ""),
        (UNHOLD, "bob", "write", ("mia", "write"), True, ""),
        (UNHOLD, "bob", "write", ("mia", "none"), True, ""),  # the placer lost access: any writer
        (UNHOLD, "bob", "write", ("mia", "maintain"), False,
         "The pull request is on hold by @mia, who has maintain permission; @bob has write. Only @mia or "
         "someone with maintain or admin permission who is not the pull request's author may lift it."),
        (UNHOLD, "mia", "maintain", ("ada", "admin"), False, "someone with admin permission who"),
        (UNHOLD, "alice", "admin", ("bob", "write"), False,
         "@alice, the author of a pull request may not lift a hold placed by @bob. Only @bob or someone with "
         "write, maintain or admin permission who is not the pull request's author may lift it."),
        (UNHOLD, "Alice", "admin", ("bob", "write"), False, "the author of a pull request may not lift"),
        (HOLD, "alice", "admin", ("mia", "maintain"), False, "may not replace a hold placed by @mia"),
        (HOLD, "bob", "write", ("mia", "maintain"), False, "may replace it."),
        (HOLD, "ada", "admin", ("mia", "maintain"), True, ""),
        (HOLD, "alice", "write", ("alice", "write"), True, ""),
        (UNHOLD, "rita", "read", ("rita", "read"), False, "needs write permission"),
    ],
)
def test_a_hold_belongs_to_whoever_placed_it(
    command: Command, actor: str, permission: str, hold: tuple[str, str] | None, ok: bool, why: str
) -> None:
    allowed, reason = authorize(command, actor, "User", "alice", permission, hold=hold)
    assert allowed is ok
    if why:
        assert why in reason
    else:
        assert reason == ""


def test_help_lists_every_command() -> None:
    for usage in ("/gate help", "/gate explain RG101", "/gate recheck", "/gate waive RG201 <reason>",
                  "/gate unwaive RG201", "/gate hold [reason]", "/gate unhold"):
        assert f"`{usage}`" in HELP_TEXT


def test_explain_a_rule_from_its_docstring() -> None:
    rule = rules.rule_for("RG101")
    assert rule is not None
    text = explain("rg101", docs_url="https://example.org/docs/rules.md")
    assert text.startswith(f"### RG101 `{rule.slug}` (error: blocks the merge)")
    for heading, body in rule.sections().items():
        assert f"**{heading}**\n\n{body}" in text
    assert f"(https://example.org/docs/rules.md#{rule.docs_anchor()})" in text
    assert "`# reviewgate: ignore[RG101]`" in text


def test_explain_a_prefix_lists_the_family() -> None:
    text = explain("RG1")
    assert all(f"**{r.code}**" in text for r in rules.CATALOGUE if r.code.startswith("RG1"))


def test_explain_an_unknown_code() -> None:
    text = explain("RG999")
    assert text.startswith("`RG999` is not a Reviewgate rule.")
    assert "RG101" in text
