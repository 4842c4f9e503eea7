"""`python -m emstrack.demo ITEMS SEED NOW sqlite|other`: the demo's generating child process.

It writes pickled plans to its standard output for the parent (`emstrack.demo.load.load_demo`).
"""

from __future__ import annotations

import sys
from datetime import datetime

from emstrack.demo.load import produce

produce(
    int(sys.argv[1]),
    int(sys.argv[2]),
    datetime.fromisoformat(sys.argv[3]),
    sys.argv[4] == "sqlite",
    sys.stdout.buffer,
)
