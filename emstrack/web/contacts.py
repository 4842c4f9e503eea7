"""The customer-service directory of the support page, read from an operator-editable CSV.

Columns: `country` (ISO code), `operator`, `service`, `phone` (empty when no number is
confirmed), `where` (where to find help, e.g. the operator's own website), `note_en`, `note_zh`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from emstrack.domain.lang import Lang

DEFAULT_PATH = Path(__file__).parent.parent / "data" / "support_contacts.csv"


@dataclass(frozen=True, slots=True)
class Contact:
    country: str
    operator: str
    service: str
    phone: str
    where: str
    note_en: str
    note_zh: str

    def note(self, lang: Lang) -> str:
        return (self.note_zh or self.note_en) if lang == "zh" else self.note_en


@cache
def load(path: str = "") -> tuple[Contact, ...]:
    """The directory at `path` (the packaged one when empty), rows in file order."""
    source = Path(path) if path else DEFAULT_PATH
    with source.open(encoding="utf-8", newline="") as f:
        return tuple(
            Contact(
                country=(row.get("country") or "").strip().upper(),
                operator=(row.get("operator") or "").strip(),
                service=(row.get("service") or "").strip(),
                phone=(row.get("phone") or "").strip(),
                where=(row.get("where") or "").strip(),
                note_en=(row.get("note_en") or "").strip(),
                note_zh=(row.get("note_zh") or "").strip(),
            )
            for row in csv.DictReader(f)
            if (row.get("country") or "").strip()
        )
