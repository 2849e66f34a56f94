"""``GET /v1/models``: the engines and the generative models this server may use, by name."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from prunestack.api.deps import KeyDep, SettingsDep

router = APIRouter(prefix="/v1", tags=["models"], dependencies=[KeyDep])


@router.get("/models")
async def list_models(request: Request, settings: SettingsDep) -> dict[str, Any]:
    loaded = request.app.state.models
    return {
        "engines": ["extractive", "generative"],
        "embedder": {"name": "all-MiniLM-L6-v2",
                     "loaded": request.app.state.embedder is not None},
        "models": [{"name": n, "engine": "generative", "loaded": n in loaded}
                   for n in sorted(settings.models)],
    }
