"""``GET /v1/models``: the engines, the default sentence encoder, and the generative models and
sentence encoders this server may use, by name (never their folders)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from prunestack.api.deps import KeyDep, RegistryDep, SettingsDep

router = APIRouter(prefix="/v1", tags=["models"], dependencies=[KeyDep])


@router.get("/models")
async def list_models(settings: SettingsDep, models: RegistryDep) -> dict[str, Any]:
    return {
        "engines": ["extractive", "generative"],
        "embedder": {"name": "all-MiniLM-L6-v2" if settings.encoder is None else "default",
                     "loaded": models.holds("encoder", settings.encoder)},
        "encoders": [{"name": n, "loaded": models.holds("encoder", settings.encoders[n])}
                     for n in sorted(settings.encoders)],
        "models": [{"name": n, "engine": "generative",
                    "loaded": models.holds("causal_lm", settings.models[n])}
                   for n in sorted(settings.models)],
    }
