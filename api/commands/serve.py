"""`prunestack serve`: run the REST API and web page with uvicorn (settings from PRUNESTACK_*)."""

from __future__ import annotations

from typing import Annotated

import typer


def serve_cmd(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the API (`/v1/...`, docs at `/docs`) and the extraction web page at `/`."""
    import uvicorn

    from prunestack.api.app import create_app

    uvicorn.run(create_app(), host=host, port=port, log_level=log_level)


def register(app: typer.Typer) -> None:
    """Add this module's command(s) to the root app."""
    app.command("serve")(serve_cmd)
