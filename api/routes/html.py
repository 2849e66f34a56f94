"""``POST /v1/html/prune``: HTML + a question → the HTML pruned to a token budget."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from prunestack.api.deps import KeyDep, LimiterDep, RegistryDep, SettingsDep
from prunestack.errors import TooLargeError
from prunestack.models import ModelRegistry
from prunestack.retrieval.prune import EmbedPruner, PruneConfig, prune_html

router = APIRouter(prefix="/v1/html", tags=["html"], dependencies=[KeyDep])


class PruneRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    html: str = Field(min_length=1)
    query: str = Field(min_length=1)
    budget: int = Field(default=256, ge=1, le=100_000, description="tokens (whitespace words)")
    pruner: Literal["bm25", "embed"] = "bm25"
    boilerplate_weight: float = Field(
        default=0.8, ge=0.0, le=1.0,
        description="demotion of nav / footer / cookie / share / related blocks (0 = off)")


def _prune_work(req: PruneRequest, models: ModelRegistry) -> dict[str, Any]:
    config = PruneConfig(pruner=req.pruner, boilerplate={"weight": req.boilerplate_weight})
    # the embedding pruner uses the app's encoder (app.state.registry), not a second copy
    pruner = EmbedPruner(models.encoder()) if req.pruner == "embed" else req.pruner
    out = prune_html(req.html, req.query, req.budget, pruner=pruner, config=config)
    return {"html": out.html, "budget": req.budget, "pruner": req.pruner,
            "boilerplate_weight": req.boilerplate_weight}


@router.post("/prune")
async def prune(req: PruneRequest, request: Request, settings: SettingsDep,
                limiter: LimiterDep, models: RegistryDep) -> dict[str, Any]:
    if len(req.html) > settings.max_text_chars:
        raise TooLargeError(f"HTML longer than {settings.max_text_chars} characters")
    return await limiter.run(_prune_work, req, models, timeout=settings.request_timeout_s,
                             disconnected=request.is_disconnected)
