"""``POST /v1/html/prune``: HTML + a question → the HTML pruned to a token budget.

The embed, hybrid and auto pruners use the server's default sentence encoder, or the served
encoder a request names in ``encoder`` (``PRUNESTACK_ENCODERS``; never a path). ``auto`` is hybrid
on English pages and bm25 on others; the response's ``pruner_used`` says which ran.

The JSON body is read with :func:`~prunestack.api.deps.json_body` (nesting checked before it is
parsed, lone surrogates refused) and then validated, so its errors answer in the app's one error
shape. Reading, validating and pruning all run in the request's worker (inside the deadline,
cancelled when the client goes away); the event loop only receives the body."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from prunestack.api import service
from prunestack.api.deps import (
    KeyDep,
    LimiterDep,
    RegistryDep,
    SettingsDep,
    body_model,
    encoder_by_name,
    json_body,
)
from prunestack.api.settings import Settings
from prunestack.errors import ConfigError
from prunestack.models import ModelRegistry
from prunestack.retrieval.prune import (
    AutoPruner,
    EmbedPruner,
    HybridPruner,
    PruneConfig,
    Pruner,
    prune_html,
)

router = APIRouter(prefix="/v1/html", tags=["html"], dependencies=[KeyDep])


class PruneRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    html: str = Field(min_length=1)
    query: str = Field(min_length=1)
    budget: int = Field(default=256, ge=1, le=100_000,
                        description="words of the output's text (what a reader sees)")
    pruner: Literal["bm25", "embed", "hybrid", "auto"] = Field(
        default="bm25", description="hybrid = BM25 + MiniLM ranks fused; auto = hybrid on "
                                    "English pages, bm25 on others (MiniLM is English-only)")
    encoder: str | None = Field(default=None, description="embed / hybrid / auto: a served "
                                "sentence encoder's name (default: the server's default encoder)")
    boilerplate_weight: float = Field(
        default=0.8, ge=0.0, le=1.0,
        description="demotion of nav / footer / cookie / share / related blocks (0 = off)")


def _prune_work(raw: bytes, settings: Settings, models: ModelRegistry) -> dict[str, Any]:
    req = body_model(PruneRequest, json_body(raw, settings))
    service.check_text_chars(len(req.html), settings.max_text_chars, "the 'html'")
    if req.encoder is not None and req.pruner == "bm25":
        raise ConfigError("'encoder' applies to the embed, hybrid and auto pruners",
                          'send "pruner": "embed", "hybrid" or "auto", or drop "encoder"')
    config = PruneConfig(pruner=req.pruner, boilerplate={"weight": req.boilerplate_weight})
    # the embedding pruners use the app's encoder (app.state.registry), not a second copy
    pruner: Pruner | str = req.pruner
    if req.pruner != "bm25":
        embed = EmbedPruner(encoder_by_name(models, settings, req.encoder))
        chosen: dict[str, Pruner] = {"embed": embed, "hybrid": HybridPruner(embed=embed),
                                     "auto": AutoPruner(hybrid=HybridPruner(embed=embed))}
        pruner = chosen[req.pruner]
    out = prune_html(req.html, req.query, req.budget, pruner=pruner, config=config)
    return {"html": out.html, "budget": req.budget, "pruner": req.pruner,
            "pruner_used": out.pruner, "words": out.tokens,
            "boilerplate_weight": req.boilerplate_weight}


@router.post("/prune", openapi_extra={"requestBody": {"required": True, "content": {
    "application/json": {"schema": PruneRequest.model_json_schema()}}}})
async def prune(request: Request, settings: SettingsDep, limiter: LimiterDep,
                models: RegistryDep) -> dict[str, Any]:
    raw = await request.body()
    return await limiter.run(_prune_work, raw, settings, models,
                             timeout=settings.request_timeout_s,
                             disconnected=request.is_disconnected)
