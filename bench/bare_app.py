"""The app of `emstrack serve` plus `GET /bench/bare`, the framework ceiling for http_load.py.

`/bench/bare` answers a constant body: a real tracking answer chosen by bench/http_load.py (the file
named by `EMSTRACK_BENCH_BODY`), returned through the same `JSONResponse` class as the tracking
endpoint, so the two differ only by the lookup and its JSON document.

    PYTHONPATH=. EMSTRACK_BENCH_BODY=bench/out/http-body.json \\
        python -m uvicorn bench.bare_app:create --factory --port 8001
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI

from emstrack.web.app import create_app
from emstrack.web.responses import JSONResponse


def create() -> FastAPI:
    """`create_app()` with the bare route added."""
    app = create_app()
    body: Any = orjson.loads(Path(os.environ["EMSTRACK_BENCH_BODY"]).read_bytes())

    @app.get("/bench/bare", include_in_schema=False)
    async def bare() -> JSONResponse:
        return JSONResponse(body)

    return app
