"""The values the engine returns: findings, fixes and reports. Plain data, no behaviour."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any


class Severity(enum.StrEnum):
    ERROR = "error"  # blocks a merge
    WARNING = "warning"  # annotates
    NOTICE = "notice"  # engine notices: the file could not be (fully) analysed


@dataclass(frozen=True)
class Edit:
    """Replace the text between two positions (1-based lines, 1-based columns, end exclusive)."""

    line: int
    column: int
    end_line: int
    end_column: int
    text: str


@dataclass(frozen=True)
class Fix:
    description: str
    safe: bool
    edits: tuple[Edit, ...]


@dataclass(frozen=True)
class Finding:
    code: str
    slug: str
    severity: Severity
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    message: str
    fix: Fix | None = None
    suppressed: bool = False

    @property
    def blocking(self) -> bool:
        return self.severity is Severity.ERROR and not self.suppressed

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = self.severity.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        fix = data.get("fix")
        return cls(
            **{
                **data,
                "severity": Severity(data["severity"]),
                "fix": None
                if fix is None
                else Fix(
                    description=fix["description"],
                    safe=fix["safe"],
                    edits=tuple(Edit(**e) for e in fix["edits"]),
                ),
            }
        )


@dataclass(frozen=True)
class Report:
    path: str
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def analyzed(self) -> bool:
        """False when an engine notice says the file was not analysed."""
        return not any(f.severity is Severity.NOTICE for f in self.findings)

    @property
    def blocking(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.blocking)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "findings": [f.to_dict() for f in self.findings]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        return cls(data["path"], tuple(Finding.from_dict(f) for f in data["findings"]))
