"""Reviewer commands: `/gate ...` lines in pull-request comments, and who may run them.

Pure: parsing, authorisation and the reply texts. Running a command (storing a waiver,
reacting, replying) is the caller's job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import rules
from bot import render
from bot.policy.facts import is_bot
from bot.policy.repo_config import PERMISSIONS, has_permission, permission_rank

PREFIX = "/gate"
NEEDED_PERMISSION = "write"
OPEN_COMMANDS = frozenset({"help", "explain"})  # anyone may run these
KNOWN = ("help", "explain", "recheck", "waive", "unwaive", "hold", "unhold")

# `/gate` then the rest of the line; the prefix itself is matched case-insensitively.
_LINE = re.compile(r"^ {0,3}/gate(?:[ \t]+(?P<rest>.*?))?[ \t]*$", re.IGNORECASE)
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_CODE = re.compile(r"^RG\d{1,3}$", re.IGNORECASE)
_COMMENT_OPEN, _COMMENT_CLOSE = "<!--", "-->"

HELP_TEXT = """\
**Reviewgate commands** (one per line, at the start of the line; several per comment):

| Command | Who | What it does |
| --- | --- | --- |
| `/gate help` | anyone | this list |
| `/gate explain RG101` | anyone | what the rule flags, why it is risky and how to fix it |
| `/gate recheck` | write permission | evaluate the pull request again now |
| `/gate waive RG201 <reason>` | write permission, not the PR author | accept the RG201 findings present on the current commit (a prefix such as `RG2` covers the family); the reason is required and shown in the check. A finding pushed later is not covered. |
| `/gate unwaive RG201` | write permission | take a waiver back |
| `/gate hold [reason]` | write permission | block the merge until `/gate unhold`; a hold belongs to whoever placed it |
| `/gate unhold` | the hold's placer, or someone with at least their permission who is not the author | lift the hold |

The check passes when a peer with write permission has approved the latest commit and
every error finding on the changed lines is fixed or waived.
"""


@dataclass(frozen=True)
class Command:
    """One `/gate` line.

    `name` is lower-case ("" for a bare `/gate`). `args` by command: explain, unwaive ->
    (CODE,); waive -> (CODE, reason); hold -> (reason,) or (); others -> the words given.
    Codes are upper-cased. `error` says what is wrong with a malformed command ("" if none).
    """

    name: str
    args: tuple[str, ...]
    raw: str
    error: str = ""

    @property
    def code(self) -> str:
        return self.args[0] if self.name in ("explain", "waive", "unwaive") and self.args else ""

    @property
    def reason(self) -> str:
        if self.name == "waive" and len(self.args) > 1:
            return self.args[1]
        if self.name == "hold" and self.args:
            return self.args[0]
        return ""


def parse_commands(body: str) -> list[Command]:
    """Every `/gate` command in a comment, in order.

    Only lines GitHub shows as plain lines of their own count. Lines inside fenced code
    blocks, quoted lines (`> /gate ...` when replying), indented code and HTML comments
    (never displayed) are not commands: quoting someone's command must not run it again,
    and no command runs unseen. Lines end at "\n" or "\r\n", as in Markdown, and not at the
    other breaks of str.splitlines: a "\u2028" or a form feed keeps `/gate` inside the
    quote it follows.
    """
    commands = []
    in_fence = ""
    in_comment = False
    for line in (body or "").split("\n"):
        line = line.removesuffix("\r")
        if "\r" in line:
            # Markdown ends a line at a lone "\r" too, and not every reader of the comment
            # does: what follows could be code or quoted to one and a command to another.
            break
        fence = _FENCE.match(line)
        if in_comment:
            if fence:
                break  # a fence inside an HTML comment: whether it counts depends on the reader
            _, in_comment = _uncomment(line, in_comment=True)
            continue
        if fence:
            marker = fence.group(1)
            if not in_fence:
                in_fence = marker
            elif marker == in_fence:
                in_fence = ""
            continue
        if in_fence:
            continue
        line, in_comment = _uncomment(line, in_comment=False)
        match = _LINE.match(line)
        if match:
            commands.append(_command(line.strip(), match.group("rest") or ""))
    return commands


def _uncomment(line: str, *, in_comment: bool) -> tuple[str, bool]:
    """The text of `line` before its first HTML comment, and whether a comment is open at its end.

    Generous on purpose: a `<!--` inside inline code also hides what follows, so a command
    may be missed but never run unseen.
    """
    visible = "" if in_comment else line.split(_COMMENT_OPEN, 1)[0]
    pos = 0
    while True:
        if in_comment:
            end = line.find(_COMMENT_CLOSE, pos)
            if end < 0:
                return visible, True
            pos, in_comment = end + len(_COMMENT_CLOSE), False
        else:
            start = line.find(_COMMENT_OPEN, pos)
            if start < 0:
                return visible, False
            pos, in_comment = start + len(_COMMENT_OPEN), True


def _command(raw: str, rest: str) -> Command:
    name, _, tail = rest.strip().partition(" ")
    name = name.strip().lower()
    tail = tail.strip()
    if name in ("", "help"):
        return Command("help", (), raw)
    if name not in KNOWN:
        return Command(name, tuple(tail.split()), raw, f"{render.code(f'{PREFIX} {name}')} is not a command.")
    if name in ("explain", "waive", "unwaive"):
        code, _, reason = tail.partition(" ")
        code, reason = code.strip().upper(), " ".join(reason.split())
        usage = {
            "explain": "`/gate explain RG101`",
            "waive": "`/gate waive RG201 <reason>`",
            "unwaive": "`/gate unwaive RG201`",
        }[name]
        if not code:
            return Command(name, (), raw, f"A rule code is missing. Usage: {usage}.")
        if not _CODE.match(code):
            return Command(
                name, (code,), raw,
                f"{render.code(code)} is not a rule code or prefix (like RG201 or RG2). Usage: {usage}.",
            )
        if name == "waive":
            if not reason:
                return Command(name, (code,), raw, f"A waiver needs a reason. Usage: {usage}.")
            return Command(name, (code, reason), raw)
        return Command(name, (code,), raw)
    if name == "hold":
        reason = " ".join(tail.split())
        return Command(name, (reason,) if reason else (), raw)
    return Command(name, tuple(tail.split()), raw)


def authorize(
    command: Command,
    actor: str,
    actor_type: str,
    author: str,
    permission: str | None,
    *,
    hold: tuple[str, str] | None = None,
) -> tuple[bool, str]:
    """May `actor` run `command` on a pull request by `author`? And if not, why.

    `(False, "")` means ignore silently: comments by bots (the gate's own included) get
    neither a reaction nor a reply, so two bots can never answer each other forever.
    Otherwise a refusal's text says why and who may run the command.

    `hold` is the pull request's current hold, as (who placed it, their permission now).
    A hold belongs to whoever placed it: only they, or someone with at least their
    permission who is not the PR author, may lift or replace it. Otherwise the author
    could lift a reviewer's hold, or hold again to own the hold and then lift it.
    """
    if is_bot(actor, actor_type):
        return False, ""
    if command.error:
        return False, f"{command.error} See `/gate help`."
    if command.name in OPEN_COMMANDS:
        return True, ""
    usage = render.code(f"{PREFIX} {command.name}")
    if not has_permission(permission, NEEDED_PERMISSION):
        return False, (
            f"{usage} needs write permission on this repository; {render.login(actor)} has "
            f"{(permission or 'none').lower()}. Someone with write, maintain or admin permission "
            "may run it."
        )
    if command.name == "waive" and actor.casefold() == author.casefold():
        return False, (
            f"{render.login(actor)}, the author of a pull request may not waive its findings: a waiver is a "
            "second person's decision. A reviewer with write permission who is not the author "
            f"may run {render.code(f'{PREFIX} waive {command.code} <reason>')}."
        )
    if command.name in ("hold", "unhold") and hold is not None and hold[0].casefold() != actor.casefold():
        placer, placer_permission = hold
        verb = "lift" if command.name == "unhold" else "replace"
        needed = max(permission_rank(placer_permission), permission_rank(NEEDED_PERMISSION))
        roles = PERMISSIONS[needed:]
        named = roles[0] if len(roles) == 1 else f"{', '.join(roles[:-1])} or {roles[-1]}"
        who = f"Only @{placer} or someone with {named} permission who is not the pull request's author may {verb} it."
        if actor.casefold() == author.casefold():
            return False, f"@{actor}, the author of a pull request may not {verb} a hold placed by @{placer}. {who}"
        if permission_rank(permission) < needed:
            return False, (
                f"The pull request is on hold by @{placer}, who has {placer_permission.lower()} permission; "
                f"@{actor} has {(permission or 'none').lower()}. {who}"
            )
    return True, ""


def explain(code: str, docs_url: str = "") -> str:
    """The rule's documentation as a reply; a prefix (`RG1`) lists its rules.

    `docs_url` (the rule catalogue page) adds a link to the rule's anchor.
    """
    code = code.strip().upper()
    rule = rules.rule_for(code)
    if rule is None:
        family = [r for r in rules.CATALOGUE if r.code.startswith(code)] if _CODE.match(code) else []
        if not family:
            known = ", ".join(r.code for r in rules.CATALOGUE)
            return f"{render.code(code)} is not a Reviewgate rule. Known rules: {known}."
        lines = [f"**Rules {code}\\***", ""]
        lines += [f"- **{r.code}** `{r.slug}` ({r.severity.value}): {r.summary()}" for r in family]
        lines += ["", f"`{PREFIX} explain <code>` explains one."]
        return "\n".join(lines)
    blocks = "blocks the merge" if rule.severity.value == "error" else "annotates only"
    out = [f"### {rule.code} `{rule.slug}` ({rule.severity.value}: {blocks})", "", rule.summary(), ""]
    for heading, text in rule.sections().items():
        out += [f"**{heading}**", "", text, ""]
    if rule.ruff_codes:
        out += [f"Also silenced by ruff's codes: {', '.join(rule.ruff_codes)}.", ""]
    out.append(f"Suppress one line with `# reviewgate: ignore[{rule.code}]`.")
    if docs_url:
        out += ["", f"[Documentation]({docs_url.rstrip('#')}#{rule.docs_anchor()})"]
    return "\n".join(out)


__all__ = [
    "HELP_TEXT", "KNOWN", "NEEDED_PERMISSION", "OPEN_COMMANDS", "PREFIX", "Command", "authorize",
    "explain", "parse_commands",
]
