""" "Is this message really from us?": the scam-message checker.

`check(text, sender)` weighs signals of links, requests, urgency, tracking numbers and the
sender into a `Verdict`; `reports` keeps the messages people choose to report.
"""

from emstrack.scamcheck.check import MAX_TEXT, CheckResult, NumberFinding, Verdict, check
from emstrack.scamcheck.reasons import REASONS, Reason

__all__ = ["MAX_TEXT", "REASONS", "CheckResult", "NumberFinding", "Reason", "Verdict", "check"]
