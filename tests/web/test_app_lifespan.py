"""What the app does around its requests: the heap made before the first one is kept out of the
garbage collector's full passes while it serves (`web.app._frozen_heap`), and given back when it
stops."""

from __future__ import annotations

import gc

from webclient import ServeApp


def test_the_startup_heap_is_frozen_while_serving_and_given_back(serve_app: ServeApp) -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    with serve_app() as http:
        assert http.get("/healthz").status_code == 200
        # The app, its settings, routes, templates and pools: tens of thousands of objects.
        assert gc.get_freeze_count() > 10_000
    assert gc.get_freeze_count() == 0
