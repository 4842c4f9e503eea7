"""Demo data: a deterministic set of realistic postal items, generated and written to the store.

China Post EMS and other S10 items from Chinese cities to twenty-odd countries, items from abroad
to China, and a few China domestic EMS numbers, each with a history told by real office-of-exchange
codes, local wall times and the dwell times of each leg. Histories are placed relative to `now`,
so items "in transit" are recent and "stale" ones have had no scan for weeks. Delivery offices in
Russia and Australia keep an unknown offset on purpose: the web page must cope with those too.

- `places`: the offices, regions and countries, and the weights of the lanes between them;
- `clock`: whole UTC minutes, and the offset each office reports;
- `trips`: one item's history under construction, and the scenarios that build them;
- `generate`: the deterministic stream of items, as batches of events;
- `load`: writing the demo, planned by a child process (`__main__`) for large ones.
"""

from emstrack.demo.generate import BATCH_EVENTS, generate
from emstrack.demo.load import DemoSummary, load_demo

__all__ = ["BATCH_EVENTS", "DemoSummary", "generate", "load_demo"]
