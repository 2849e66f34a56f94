"""The front doors: the typer CLI (``api.cli``) and the FastAPI app (``api.app``)."""
