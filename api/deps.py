"""FastAPI dependencies (``Annotated`` aliases): settings, API key, limiter, loaded models."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Request

from prunestack.api.limits import Limiter, PageCache
from prunestack.api.settings import Settings
from prunestack.errors import ConfigError, PrunestackError


class AuthError(PrunestackError):
    """Missing or wrong API key."""

    http_status = 401


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def require_key(settings: SettingsDep,
                x_api_key: Annotated[str | None, Header()] = None,
                authorization: Annotated[str | None, Header()] = None) -> None:
    presented = x_api_key
    if presented is None and authorization and authorization.lower().startswith("bearer "):
        presented = authorization[7:].strip()
    if not settings.key_ok(presented):
        raise AuthError("missing or wrong API key", "send it as X-API-Key or Authorization: Bearer")


KeyDep = Depends(require_key)


def get_limiter(request: Request) -> Limiter:
    return request.app.state.limiter


def get_pages(request: Request) -> PageCache:
    return request.app.state.pages


def get_embedder(request: Request) -> Any:
    return request.app.state.embedder


LimiterDep = Annotated[Limiter, Depends(get_limiter)]
PagesDep = Annotated[PageCache, Depends(get_pages)]
EmbedderDep = Annotated[Any, Depends(get_embedder)]


def model_by_name(request: Request, name: str | None) -> tuple[Any, Any] | None:
    """The loaded (model, tokenizer) called ``name``; clients never pass paths."""
    if name is None:
        return None
    settings: Settings = request.app.state.settings
    if name not in settings.models:
        raise ConfigError(f"unknown model {name!r}",
                          f"served models: {sorted(settings.models) or 'none'}")
    models = request.app.state.models
    if name not in models:  # not preloaded: load on first use, once
        from prunestack.pipeline.extract.generative import load_model

        models[name] = load_model(settings.models[name])
    return models[name]
