"""The FastAPI application factory: settings, lifespan model loading, one error handler, routes.

``create_app(settings)`` builds the app; ``app.state.registry`` is the process's model registry
(``prunestack.models.registry()``; tests may put another there before start-up) and the lifespan
hook loads through it once: the default sentence encoder (MiniLM unless ``settings.encoder``), and
every configured generative model and named encoder unless ``preload_models`` is off. Nothing else
in the API holds a model. Every :class:`PrunestackError` maps to its ``http_status`` in a single
handler with a JSON body ``{"error": {type, message, hint}, "status"}``; request validation errors
answer 422 in the same shape. The web page is served at ``/``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import torch
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from prunestack.api.limits import (
    Limiter,
    PageCache,
    ReleaseMemoryMiddleware,
    UploadLimitMiddleware,
    error_body,
)
from prunestack.api.routes import ask, documents, extract, health, html, models, parse
from prunestack.api.settings import Settings
from prunestack.errors import PrunestackError
from prunestack.models import ModelRegistry, registry

STATIC = Path(__file__).resolve().parent / "static"
log = logging.getLogger("prunestack.api")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    torch.set_num_threads(settings.torch_threads)
    models: ModelRegistry = app.state.registry
    # the default sentence encoder (MiniLM unless settings.encoder names a folder), loaded
    # before the first request
    models.encoder(settings.encoder)
    if settings.preload_models:
        for folder in settings.models.values():
            models.causal_lm(folder)
            models.tokenizer(folder)
        for folder in settings.encoders.values():
            models.encoder(folder)
    app.state.limiter = Limiter(settings.max_concurrency, settings.max_queue,
                                settings.queue_timeout_s)
    app.state.pages = PageCache(settings.page_cache_docs, settings.page_cache_bytes)
    app.state.loop = asyncio.get_running_loop()
    yield
    app.state.limiter.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(title="prunestack", version="0.1.0", lifespan=lifespan,
                  description="Documents and web HTML in, schema-valid JSON out.")
    app.state.settings = settings
    app.state.registry = registry()  # the process's model owner; tests may put another here
    app.add_middleware(UploadLimitMiddleware, max_bytes=lambda: app.state.settings.max_upload_bytes)
    app.add_middleware(ReleaseMemoryMiddleware)  # outermost: sees the response sent

    @app.exception_handler(PrunestackError)
    async def _prunestack_error(request: Request, exc: PrunestackError) -> JSONResponse:
        headers = {"Retry-After": "1"} if exc.http_status in (429, 503) else None
        return JSONResponse(error_body(exc, exc.http_status), status_code=exc.http_status,
                            headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        msg = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                        for e in exc.errors()[:5])
        body = {"error": {"type": "RequestValidationError", "message": msg, "hint": None},
                "status": 422}
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        body = {"error": {"type": "HTTPException", "message": str(exc.detail), "hint": None},
                "status": exc.status_code}
        return JSONResponse(body, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        body = {"error": {"type": "InternalError", "message": "internal error", "hint": None},
                "status": 500}
        return JSONResponse(body, status_code=500)

    for module in (health, models, parse, extract, ask, html, documents):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    return app
