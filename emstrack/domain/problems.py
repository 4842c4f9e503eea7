"""Problems: findings about an input, as values with a stable code and a sentence for people.

The same `Problem` renders as an item of `problems` in the JSON API, a sentence on the page and a
line on the CLI. `code` is a contract: clients branch on it, so never rename one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding: `code` is stable, `message` is for people, `part` names what it is about."""

    code: str
    message: str
    severity: Severity = Severity.ERROR
    part: str | None = None
    hint: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "severity": self.severity.value,
        }
        if self.part is not None:
            out["part"] = self.part
        if self.hint is not None:
            out["hint"] = self.hint
        out.update(self.extra)
        return out
