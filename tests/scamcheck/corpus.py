"""The real-message corpus of the scam checker, its split by source, and its figures.

`tests/data/scamcorpus/*.jsonl` holds delivery texts quoted by public pages (police and post
warnings, consumer sites, news; genuine notices from the operators' own examples, open-source
templates and fixtures), each with its `source`. Rows are split **by source**: every row of one
site (its host; on code hosts its repository) lands in the same part, chosen by a hash of the
site's key, so that no one picked which texts the rules were tuned on. Rules are tuned on the
development part only; the held-out part is measured, never read for tuning.

    python tests/scamcheck/corpus.py              # figures of both parts, per language
    python tests/scamcheck/corpus.py --misses     # and the development part's mistakes
    python tests/scamcheck/corpus.py --dev --misses --why   # while tuning: the dev part only

The held-out part's mistakes are never printed: reading them would be tuning on them.

Figures are on whole messages. A reviewer who never ran the checker marked each row `whole`
(false for an excerpt the source cut — one sentence of a longer message, a subject line without
its body, a call's opening line — or for a text that is no message, such as a tracking-status
line); excerpts are counted on a line of their own.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
FOLDER = HERE.parent / "data" / "scamcorpus"
LANGS = ("en", "zh-Hans", "zh-Hant")
#: The languages the figures are given and guarded for: Chinese in either script is one language
#: (the checker reads traditional as simplified); each script is also shown on its own.
LANGUAGES: dict[str, tuple[str, ...]] = {"en": ("en",), "zh": ("zh-Hans", "zh-Hant")}
LABELS = ("scam", "genuine")
FIELDS = ("id", "label", "lang", "text", "sender", "channel", "imitates", "source", "publisher")
CODE_HOSTS = {
    "github.com": "github.com",
    "raw.githubusercontent.com": "github.com",
    "gitee.com": "gitee.com",
    "gitlab.com": "gitlab.com",
    "huggingface.co": "huggingface.co",
}

#: Code-host owners whose repositories are one publisher's mirrors of many mailing lists: the
#: same spam campaign reaches every list, so all their repositories are one site, and no campaign
#: can sit in both parts.
ONE_SITE_OWNERS = frozenset({"github.com/linux-mailinglist-archives"})


@dataclass(frozen=True, slots=True)
class Row:
    id: str
    label: str
    lang: str
    text: str
    sender: str | None
    source: str
    whole: bool = True  # a whole message, not an excerpt or a status line (see the module doc)

    @property
    def site(self) -> str:
        return site_key(self.source)

    @property
    def split(self) -> str:
        return split_of(self.site)


def site_key(url: str) -> str:
    """The site a source belongs to: its host without "www.", or host/owner/repo on code hosts."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    if host in CODE_HOSTS:
        path = [p for p in parts.path.split("/") if p][:2]
        owner = "/".join([CODE_HOSTS[host], *path[:1]])
        return owner if owner in ONE_SITE_OWNERS else "/".join([CODE_HOSTS[host], *path])
    return host


def split_of(site: str) -> str:
    """ "heldout" or "dev", by a hash of the site's key: nobody chose it."""
    digest = hashlib.sha256(site.encode()).hexdigest()
    return "heldout" if int(digest[:8], 16) % 2 == 1 else "dev"


def rows(folder: Path = FOLDER) -> list[Row]:
    found: list[Row] = []
    for path in sorted(folder.glob("*.jsonl")):
        with path.open(encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    raw = json.loads(line)
                    found.append(
                        Row(
                            raw["id"],
                            raw["label"],
                            raw["lang"],
                            raw["text"],
                            raw.get("sender"),
                            raw["source"],
                            raw.get("whole", True),
                        )
                    )
    return found


@dataclass(frozen=True, slots=True)
class Figures:
    scams: int
    genuine: int
    caught: int  # scams flagged (suspicious or likely_scam)
    false_alarms: int  # genuine flagged

    @property
    def recall(self) -> float:
        return self.caught / self.scams if self.scams else 0.0

    @property
    def precision(self) -> float:
        flagged = self.caught + self.false_alarms
        return self.caught / flagged if flagged else 0.0


def flagged(row: Row) -> bool:
    from emstrack.scamcheck import Verdict, check

    return check(row.text, row.sender).verdict is not Verdict.NO_RED_FLAGS


def figures(part: Iterable[Row]) -> Figures:
    scams = genuine = caught = false_alarms = 0
    for row in part:
        hit = flagged(row)
        if row.label == "scam":
            scams += 1
            caught += hit
        else:
            genuine += 1
            false_alarms += hit
    return Figures(scams, genuine, caught, false_alarms)


def table(
    all_rows: list[Row], parts: tuple[str, ...] = ("heldout", "dev")
) -> Iterator[tuple[str, str, Figures]]:
    """(part, language, figures) for each part and language, then each part's "all"; whole
    messages only, then the excerpts of each part on their own line."""
    for part in parts:
        chosen = [r for r in all_rows if r.split == part and r.whole]
        for language, langs in LANGUAGES.items():
            yield part, language, figures(r for r in chosen if r.lang in langs)
        for lang in LANGS[1:]:
            yield part, lang, figures(r for r in chosen if r.lang == lang)
        yield part, "all", figures(chosen)
        yield part, "excerpts", figures(r for r in all_rows if r.split == part and not r.whole)


def _loose(text: str) -> str:
    return re.sub(r"[^a-z\u4e00-\u9fff]+", " ", re.sub(r"https?://\S+", "", text.lower()))


def near_copies(all_rows: list[Row], at: float = 0.8) -> set[str]:
    """The ids of held-out rows that nearly repeat a development row of the same label and
    language (the same campaign or template quoted by two sites, a name or a number changed):
    a part of the held-out figures that the rules may have been tuned on at one remove."""
    dev = [(r, _loose(r.text)) for r in all_rows if r.split == "dev"]
    found: set[str] = set()
    for row in all_rows:
        if row.split != "heldout":
            continue
        text = _loose(row.text)
        for other, other_text in dev:
            if other.label != row.label or other.lang != row.lang:
                continue
            m = difflib.SequenceMatcher(None, other_text, text, autojunk=False)
            if m.real_quick_ratio() > at and m.quick_ratio() > at and m.ratio() > at:
                found.add(row.id)
                break
    return found


def _why(row: Row) -> str:
    from emstrack.scamcheck import check

    result = check(row.text, row.sender)
    return f"{result.verdict.value}: " + ", ".join(
        f"{r.code}({r.params.get('words') or r.params.get('domain') or ''})" for r in result.reasons
    )


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(HERE.parents[1]))
    all_rows = rows()
    print("part     language  scams  genuine  recall  precision")
    parts = ("dev",) if "--dev" in argv else ("heldout", "dev")
    for part, lang, f in table(all_rows, parts):
        print(f"{part:8} {lang:9} {f.scams:5} {f.genuine:8} {f.recall:7.3f} {f.precision:10.3f}")
    if "heldout" in parts:
        # The held-out part again without its near-copies of development rows.
        near = near_copies(all_rows)
        rest = [r for r in all_rows if r.id not in near]
        for _part, lang, f in table(rest, ("heldout",)):
            if lang in LANGUAGES:
                print(
                    f"{'heldout*':8} {lang:9} {f.scams:5} {f.genuine:8} {f.recall:7.3f} "
                    f"{f.precision:10.3f}"
                )
        print(f"heldout* = without the {len(near)} held-out rows that nearly repeat a dev row")
    if "--misses" in argv:
        for row in all_rows:
            if row.split == "dev" and flagged(row) != (row.label == "scam"):
                print(f"dev miss [{row.id} {row.label}] {row.text!r}")
                if "--why" in argv:
                    print("    ", _why(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
