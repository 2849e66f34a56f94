"""Page images of recent uploads (``GET /v1/documents/{id}/pages/{n}.png``) and the bundled
examples the web page offers (``GET /v1/examples``, ``GET /v1/examples/{name}/document``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response

from prunestack.api import service
from prunestack.api.deps import KeyDep, LimiterDep, PagesDep, SettingsDep
from prunestack.errors import InputError

router = APIRouter(prefix="/v1", tags=["documents"], dependencies=[KeyDep])
DOC_SUFFIXES = (".pdf", ".png", ".jpg", ".jpeg", ".html")


@router.get("/documents/{doc_id}/pages/{page}.png", response_class=Response)
async def page_image(doc_id: str, page: int, request: Request, cache: PagesDep,
                     limiter: LimiterDep, settings: SettingsDep,
                     scale: Annotated[float, Query(gt=0.1, le=4.0)] = 1.5) -> Response:
    item = cache.get(doc_id)
    if item is None:
        raise InputError(f"unknown or expired document id {doc_id!r}", "upload it again")
    data, mime = item
    png = await limiter.run(service.render_page, data, mime, page, scale, settings.max_pixels,
                            timeout=settings.request_timeout_s,
                            disconnected=request.is_disconnected)
    return Response(png, media_type="image/png", headers={"Cache-Control": "max-age=3600"})


def examples(folder: Path) -> dict[str, tuple[Path, Path]]:
    """``name → (schema file, document file)``: entries of ``examples.json`` and every
    ``NAME.schema.json`` beside a ``NAME.<pdf|png|jpg|html>``."""
    out: dict[str, tuple[Path, Path]] = {}
    if not folder.is_dir():
        return out
    manifest = folder / "examples.json"  # [{"name", "document", "schema"}] for other names
    if manifest.is_file():
        for ex in json.loads(manifest.read_text(encoding="utf-8")):
            doc, schema = folder / ex["document"], folder / ex["schema"]
            if doc.is_file() and schema.is_file():
                out[ex["name"]] = (schema, doc)
    for schema in sorted(folder.glob("*.schema.json")):
        name = schema.name[: -len(".schema.json")]
        for suf in DOC_SUFFIXES:
            doc = folder / f"{name}{suf}"
            if doc.is_file():
                out[name] = (schema, doc)
                break
    return out


@router.get("/examples")
async def list_examples(settings: SettingsDep) -> list[dict[str, Any]]:
    return [{"name": n, "document": d.name, "schema": json.loads(s.read_text())}
            for n, (s, d) in examples(settings.examples_dir).items()]


@router.get("/examples/{name}/document")
async def example_document(name: str, settings: SettingsDep) -> FileResponse:
    ex = examples(settings.examples_dir)
    if name not in ex:
        raise InputError(f"unknown example {name!r}", f"one of {sorted(ex)}")
    return FileResponse(ex[name][1])
