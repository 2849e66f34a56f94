"""`prunestack serve`: run the REST API and web page with uvicorn (settings from PRUNESTACK_*).

``--encoder DIR`` makes a local encoder folder (e.g. a pruned MiniLM) the default sentence encoder
(``PRUNESTACK_ENCODER``); further encoders are served by name from ``PRUNESTACK_ENCODERS``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def serve_cmd(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    encoder: Annotated[Path | None, typer.Option(
        help="Default sentence encoder folder, e.g. a pruned MiniLM (default: MiniLM).")] = None,
) -> None:
    """Serve the API (`/v1/...`, docs at `/docs`) and the extraction web page at `/`."""
    import uvicorn

    from prunestack.api.app import create_app
    from prunestack.api.settings import Settings
    from prunestack.models import registry

    if encoder is not None:
        # loaded here, into the registry the app uses: a bad folder is one line, not a
        # traceback from the start-up hook
        registry().encoder(encoder)
    settings = Settings(encoder=encoder) if encoder is not None else Settings()
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level)


def register(app: typer.Typer) -> None:
    """Add this module's command(s) to the root app."""
    app.command("serve")(serve_cmd)
