"""``GET /v1/models``: the engines and the generative models this server may use, by name."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from prunestack.api.deps import KeyDep, RegistryDep, SettingsDep

router = APIRouter(prefix="/v1", tags=["models"], dependencies=[KeyDep])


@router.get("/models")
async def list_models(settings: SettingsDep, models: RegistryDep) -> dict[str, Any]:
    return {
        "engines": ["extractive", "generative"],
        "embedder": {"name": "all-MiniLM-L6-v2", "loaded": models.holds("encoder")},
        "models": [{"name": n, "engine": "generative",
                    "loaded": models.holds("causal_lm", settings.models[n])}
                   for n in sorted(settings.models)],
    }
