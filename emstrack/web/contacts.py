"""The customer-service directory of the support page, read from an operator-editable CSV.

Columns: `country` (ISO code), `operator`, `service`, `phone` (empty when no number is
confirmed), `where` (where to find help, e.g. the operator's own website), `note_en`, `note_zh`,
and optionally `service_zh` (the service's name on the Chinese page; `service` when empty).
Each row is joined by country with the directory of designated operators
(`emstrack.domain.operators`): its name in the reader's language, its site and its phones.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from emstrack.domain import countries, operators
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
    service_zh: str = ""

    def service_name(self, lang: Lang) -> str:
        return (self.service_zh or self.service) if lang == "zh" else self.service

    def note(self, lang: Lang) -> str:
        return (self.note_zh or self.note_en) if lang == "zh" else self.note_en

    @property
    def directory(self) -> operators.Operator | None:
        """The country's designated operator in the directory, if it has one."""
        return operators.lookup(self.country)

    def operator_name(self, lang: Lang) -> str:
        """The operator's name: the directory's, in the reader's language, for the country's
        designated operator; the row's own otherwise (another company, a service of its own)."""
        found = self.directory
        country = countries.lookup(self.country)
        designated = (found.name_en if found else None, country.operator if country else None)
        if found is not None and self.operator in designated:
            return found.name(lang)
        return self.operator

    @property
    def phones(self) -> tuple[operators.Phone, ...]:
        """The row's own phone (dialled within the country) or else the directory's."""
        if self.phone:
            return (operators.Phone(self.phone, not self.phone.startswith("+")),)
        found = self.directory
        return found.phones if found else ()


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
                service_zh=(row.get("service_zh") or "").strip(),
            )
            for row in csv.DictReader(f)
            if (row.get("country") or "").strip()
        )
