"""``GET /healthz``: liveness plus the limiter's load (no key needed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(request: Request) -> dict[str, Any]:
    lim = request.app.state.limiter
    return {"status": "ok", "running": lim.running, "waiting": lim.waiting,
            "max_concurrency": lim.concurrency, "max_queue": lim.queue}
