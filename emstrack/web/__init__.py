"""The web layer: the app factory, the API routers and (later) the pages. Only here is FastAPI."""
