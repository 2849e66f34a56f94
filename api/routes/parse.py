"""``POST /v1/parse``: a PDF, image or HTML upload → the Document (and its CCTree) as JSON.

Every box is on the original page (levelled scans and sideways PDF text included); a page laid
out in another frame carries it as ``frame``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile

from prunestack.api import service
from prunestack.api.deps import KeyDep, LimiterDep, PagesDep, SettingsDep
from prunestack.api.settings import Settings
from prunestack.parsers.cctree import build_cctree
from prunestack.parsers.ingest import Upload

router = APIRouter(prefix="/v1", tags=["parse"], dependencies=[KeyDep])


def _parse_work(data: bytes, ocr: str, pages: str | None, settings: Settings, name: str,
                tree: bool) -> tuple[dict[str, Any], Upload]:
    upload = service.open_upload(data, settings.max_pages, name, settings.max_text_chars)
    doc = service.parse_upload(upload, ocr=ocr, pages=pages, max_pixels=settings.max_pixels,
                               max_text_chars=settings.max_text_chars)
    out: dict[str, Any] = {"document": doc.model_dump(mode="json")}
    if tree:
        out["tree"] = build_cctree(doc).model_dump(mode="json")
    return out, upload


@router.post("/parse")
async def parse_document(
    settings: SettingsDep, limiter: LimiterDep, cache: PagesDep,
    file: Annotated[UploadFile, File(description="PDF, image or HTML")],
    ocr: Annotated[str, Form()] = "auto",
    pages: Annotated[str | None, Form(description="e.g. 1-3")] = None,
    tree: Annotated[bool, Form(description="also return the CCTree")] = False,
) -> dict[str, Any]:
    data = await file.read()
    out, upload = await limiter.run(_parse_work, data, ocr, pages, settings,
                                    file.filename or "upload", tree,
                                    timeout=settings.request_timeout_s)
    if service.has_page_images(upload):
        out["document_id"] = cache.put(data, upload.kind.value)
    return out
