"""listd's web endpoint: an ASGI app (FastAPI) served by `listd serve` in its event loop."""
