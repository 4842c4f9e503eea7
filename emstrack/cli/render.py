"""How a lookup reads in a terminal: a status line, the problems, and a timeline table."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from emstrack.domain.events import Status
from emstrack.domain.lang import Lang
from emstrack.lookup import Outcome, TrackingResult, event_to_dict

_STYLE = {
    Status.DELIVERED: "bold green",
    Status.TERMINATED: "bold red",
    Status.RETURNING: "bold red",
    Status.RETURNED: "bold red",
    Status.DELIVERY_FAILED: "bold yellow",
    Status.CUSTOMS_IMPORT: "bold yellow",
    Status.CUSTOMS_EXPORT: "bold yellow",
    Status.UNKNOWN: "bold magenta",
}


def render_result(console: Console, result: TrackingResult, lang: Lang = "en") -> None:
    doc = result.to_dict(lang)
    tn = result.number
    head = Text(tn.formatted, style="bold")
    if result.outcome == Outcome.FOUND and result.status is not None:
        head.append("  ")
        head.append(doc["status_label"], style=_STYLE.get(result.status, "bold cyan"))
        item = doc["item"]
        route = " → ".join(
            name for name in (item["origin_country_name"], item["destination_country_name"]) if name
        )
        console.print(head)
        facts = [f for f in (item["service_label"], item["issuer"], route) if f]
        console.print("  " + " · ".join(facts), style="dim")
        if doc["headline"]:
            console.print("  " + escape(doc["headline"]))
    else:
        head.append("  ")
        head.append(result.outcome.value.replace("_", " "), style="bold red")
        console.print(head)
    for problem in tn.problems:
        console.print(escape(f"  [{problem.severity.value}] {problem.message}"))
    if result.diagnosis is not None and result.outcome != Outcome.INVALID:
        console.print(f"  {escape(result.diagnosis.message)}")
    for suggestion in doc["suggestions"]:
        mark = " (on record)" if suggestion["on_record"] else ""
        console.print(f"  → {escape(suggestion['message'])}{mark}", style="cyan")
    if result.events:
        table = Table("local time", "UTC", "place", "event", box=None, pad_edge=False)
        for event in result.events:
            e = event_to_dict(event, lang)
            place = " ".join(p for p in (e["office_name"] or e["office_code"], e["country"]) if p)
            label = e["label"] if e["known_code"] else f"{e['code']}: {e['label']}"
            details = [e[k] for k in ("reason_text", "action_text", "retention_text") if e[k]]
            if details:
                label += "\n" + "; ".join(details)
            local = e["local_time"].replace("T", " ")
            if e["utc_offset_label"]:
                local += f" {e['utc_offset_label']}"
            table.add_row(local, (e["utc_time"] or "—").replace("T", " "), place, label)
        console.print(table)
    if result.earlier_items:
        console.print(
            f"  This number was used before: {len(result.earlier_items)} earlier item(s).",
            style="dim",
        )
    console.print()
