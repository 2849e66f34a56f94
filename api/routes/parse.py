"""``POST /v1/parse``: a PDF, image or HTML upload → the Document (and its CCTree) as JSON.

Every box is on the original page (levelled scans and sideways PDF text included); a page laid
out in another frame carries it as ``frame``. Parsing, serialising and hashing the upload for the
page-image cache run in the request's worker (cancelled on timeout or disconnect)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from prunestack.api import service
from prunestack.api.deps import KeyDep, LimiterDep, PagesDep, SettingsDep
from prunestack.api.limits import PageCache
from prunestack.api.settings import Settings
from prunestack.parsers.cctree import build_cctree

router = APIRouter(prefix="/v1", tags=["parse"], dependencies=[KeyDep])


def _parse_work(data: bytes, ocr: str, pages: str | None, settings: Settings, name: str,
                tree: bool, cache: PageCache) -> bytes:
    upload = service.open_upload(data, settings.max_pages, name, settings.max_text_chars)
    doc = service.parse_upload(upload, ocr=ocr, pages=pages, max_pixels=settings.max_pixels,
                               max_text_chars=settings.max_text_chars)
    return service.json_object(
        document=doc, tree=build_cctree(doc) if tree else None,
        document_id=cache.put(data, upload.kind.value) if service.has_page_images(upload)
        else None)


@router.post("/parse", response_class=JSONResponse)
async def parse_document(
    request: Request, settings: SettingsDep, limiter: LimiterDep, cache: PagesDep,
    file: Annotated[UploadFile, File(description="PDF, image or HTML")],
    ocr: Annotated[str, Form()] = "auto",
    pages: Annotated[str | None, Form(description="e.g. 1-3")] = None,
    tree: Annotated[bool, Form(description="also return the CCTree")] = False,
) -> Response:
    data = await file.read()
    body = await limiter.run(_parse_work, data, ocr, pages, settings,
                             file.filename or "upload", tree, cache,
                             timeout=settings.request_timeout_s,
                             disconnected=request.is_disconnected)
    return Response(body, media_type="application/json")
