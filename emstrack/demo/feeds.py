"""Demo items whose histories come in as operators print them, through the `chinapost` and
`usps` source profiles (docs/import.md, "Profiles"), rather than as UPU events.

They show what real feeds do: Chinese and English texts mixed, two scans in one minute, an
arrival stamped after the departure, an empty English text, a postman's phone in the
acceptance text, a text no rule maps. Times are placed before `now`, as the generated demo's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from emstrack.domain.s10 import check_digit
from emstrack.ingest import profiles
from emstrack.ingest.records import IncomingEvent, parse_record
from emstrack.ingest.writer import record
from emstrack.store.database import Database


def _number(serial: str) -> str:
    return f"EZ{serial}{check_digit(serial)}CN"


#: Chizhou (Anhui) -> Brooklyn, delivered; and Chizhou -> Shanghai, on its way.
DELIVERED_TO_US = _number("90000001")
IN_CHINA = _number("90000002")

_CN = timedelta(hours=8)
_NEW_YORK = ZoneInfo("America/New_York")

# (number, profile, hours before now, text, English text, office name, office code).
_FEED = (
    (DELIVERED_TO_US, "chinapost", 200,
     "【池州市邮政分公司】已收寄，揽投员姓名：王五,联系电话:13905661234", "",
     "AnHuiShengChiZhouShi", "24700100"),
    (DELIVERED_TO_US, "chinapost", 192, "到达安徽池州处理中心", "Arrival at Sorting Center",
     "AnHuiShengChiZhouShi", "24700100"),
    (DELIVERED_TO_US, "chinapost", 192, "离开安徽池州处理中心", "Departure from Sorting Center",
     "AnHuiShengChiZhouShi", "24700100"),
    (DELIVERED_TO_US, "chinapost", 180, "离开合肥处理中心", "", "AnHuiShengHeFeiShi", "23000100"),
    (DELIVERED_TO_US, "chinapost", 179.95, "到达合肥处理中心", "", "AnHuiShengHeFeiShi",
     "23000100"),
    (DELIVERED_TO_US, "chinapost", 150, "出口总包互封开拆", "Opening", "ShangHaiShi", "20110600"),
    (DELIVERED_TO_US, "chinapost", 130, "交航", "", "ShangHaiShi", "20110600"),
    (DELIVERED_TO_US, "usps", 96, "Processed Through Facility", "", "JAMAICA, NY 11431", ""),
    (DELIVERED_TO_US, "usps", 72, "Arrived at USPS Regional Facility", "",
     "BROOKLYN NY DISTRIBUTION CENTER, NY 11256", ""),
    (DELIVERED_TO_US, "usps", 50, "Out for Delivery", "", "BROOKLYN, NY 11201", ""),
    (DELIVERED_TO_US, "usps", 45, "Notice Left (No Authorized Recipient Available)", "",
     "BROOKLYN, NY 11201", ""),
    (DELIVERED_TO_US, "usps", 26, "Out for Delivery", "", "BROOKLYN, NY 11201", ""),
    (DELIVERED_TO_US, "usps", 22, "Delivered, In/At Mailbox", "", "BROOKLYN, NY 11201", ""),
    (IN_CHINA, "chinapost", 30, "收寄局收寄", "Collection", "AnHuiShengChiZhouShi", "24700100"),
    (IN_CHINA, "chinapost", 20, "到达安徽池州处理中心", "Arrival at Sorting Center",
     "AnHuiShengChiZhouShi", "24700100"),
    (IN_CHINA, "chinapost", 6, "包裹已装车，发往上海", "", "AnHuiShengChiZhouShi", "24700100"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class FeedSummary:
    """What loading the feeds stored, and the numbers to try."""

    events: int
    numbers: dict[str, str]  # what the item shows -> its number


def feed_rows(now: datetime) -> list[tuple[str, dict[str, str]]]:
    """The feeds' rows as each operator prints them: (profile, row)."""
    rows = []
    for number, profile, hours, text, english, office, code in _FEED:
        at = now.astimezone(UTC) - timedelta(hours=hours)
        local = (
            (at + _CN).replace(tzinfo=None)
            if profile == "chinapost"
            else at.astimezone(_NEW_YORK).replace(tzinfo=None)
        )
        row = {
            "tracking_number": number,
            "event_time": local.isoformat(" ", "minutes"),
            "description": text,
            "description_en": english,
            "office_name": office,
            "office_code": code,
            "origin_country": "CN",
            "destination_country": "US" if number == DELIVERED_TO_US else "CN",
        }
        rows.append((profile, row))
    return rows


def load_feeds(db: Database, now: datetime | None = None) -> FeedSummary:
    """Read the feeds through their profiles and record them; again, stores nothing twice."""
    now = now or datetime.now(UTC)
    batch: list[IncomingEvent] = []
    for profile, row in feed_rows(now):
        batch.append(
            parse_record(row, source=f"demo-{profile}", profile=profiles.builtin(profile), now=now)
        )
    result = record(db, batch, now=now)
    return FeedSummary(
        result.stored,
        {"chinapost + usps, delivered": DELIVERED_TO_US, "chinapost, in China": IN_CHINA},
    )
