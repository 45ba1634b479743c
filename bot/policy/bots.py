"""Pull requests opened by a bot listed under `bots:` (Dependabot, Renovate) that change only the
paths listed for it: one human approval is enough, whatever `approvals.required` says.

Only the number of approvals changes. The approval must be a person's (a bot's never counts,
Reviewgate never approves), and owners, findings, holds and requested changes apply as to any
pull request. A pass that relied on this is recorded in the audit (`bot.jobs.record`). Pure.
"""

from __future__ import annotations

from bot.policy.facts import Facts, is_bot
from bot.policy.paths import glob_match
from bot.policy.repo_config import BotRule, GateConfig


def allowance(facts: Facts, config: GateConfig) -> BotRule | None:
    """The `bots` entry the pull request falls under, if any: opened by that bot, and every
    file it changes (renames' former paths too; all of them listed by GitHub) in its paths."""
    if not config.bots or not is_bot(facts.author, facts.author_type):
        return None
    if facts.files_total > facts.files_listed or not facts.changed_paths:
        return None
    touched = (*facts.changed_paths, *facts.previous_paths)
    for rule in config.bots:
        if rule.login.casefold() != facts.author.casefold():
            continue
        if all(any(glob_match(path, pattern) for pattern in rule.paths) for path in touched):
            return rule
    return None
