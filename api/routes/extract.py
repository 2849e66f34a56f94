"""``POST /v1/extract``: a document + a JSON Schema → JSON valid against it, with provenance.

Two request shapes on one path: ``multipart/form-data`` with ``file`` (PDF, image or HTML) or
``example`` (a bundled example's name) plus ``schema`` (JSON text), ``engine``, ``model`` (a
served model's *name*), ``ocr``, ``pages``; or ``application/json`` with ``schema`` and ``text``
or ``html``. The answer is the :class:`~pipeline.extract.ExtractionResult` plus a
``document_id`` for page images when a PDF or image was uploaded.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from prunestack.api import service
from prunestack.api.deps import (
    KeyDep,
    LimiterDep,
    PagesDep,
    SettingsDep,
    get_embedder,
    json_body,
    model_by_name,
)
from prunestack.api.routes.documents import examples
from prunestack.api.settings import Settings
from prunestack.errors import InputError, SchemaError, UnsupportedTypeError
from prunestack.parsers.html import parse_html
from prunestack.parsers.ingest import Upload
from prunestack.parsers.text import text_document
from prunestack.pipeline.extract import extract_document
from prunestack.pipeline.schema import LoadedSchema, load_schema, require_object_root

router = APIRouter(prefix="/v1", tags=["extract"], dependencies=[KeyDep])


class TextExtractRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    json_schema: dict[str, Any] = Field(alias="schema")
    text: str | None = None
    html: str | None = None
    engine: Literal["extractive", "generative"] = "extractive"
    model: str | None = Field(default=None, description="a served model's name")

    @model_validator(mode="after")
    def _one_input(self) -> TextExtractRequest:
        if (self.text is None) == (self.html is None):
            raise ValueError("give exactly one of 'text' or 'html'")
        return self


OPENAPI_BODY = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["schema"], "properties": {
        "file": {"type": "string", "format": "binary"},
        "example": {"type": "string", "description": "name of a bundled example instead of file"},
        "schema": {"type": "string", "description": "JSON Schema (JSON text)"},
        "engine": {"type": "string", "enum": ["extractive", "generative"]},
        "model": {"type": "string"}, "ocr": {"type": "string"}, "pages": {"type": "string"}}}},
    "application/json": {"schema": {"type": "object", "required": ["schema"], "properties": {
        "schema": {"type": "object"}, "text": {"type": "string"}, "html": {"type": "string"},
        "engine": {"type": "string", "enum": ["extractive", "generative"]},
        "model": {"type": "string"}}}}}}}


def _schema(raw: Any, settings: Settings) -> LoadedSchema:
    """A schema a client sent (JSON text or a parsed object), loaded and checked once, before
    any work, within the server's schema limits. Never a path: a string that names a file is
    refused, not read."""
    if not (isinstance(raw, dict) or (isinstance(raw, str) and raw.strip())):
        raise SchemaError("missing 'schema'", "send a JSON Schema as a form field or JSON")
    schema = load_schema(raw, allow_path=False, limits=settings.schema_limits())
    require_object_root(schema)
    return schema


def _text_work(req: TextExtractRequest, schema: LoadedSchema, embedder: Any, model: Any) -> Any:
    if req.text is not None:
        doc = text_document(req.text)
    else:
        doc = parse_html(req.html or "")  # text: not re-decoded by its own <meta charset>
    m, tok = model if model else (None, None)
    return extract_document(doc, schema, req.engine, embedder=embedder, model=m, tokenizer=tok)


@router.post("/extract", openapi_extra=OPENAPI_BODY)
async def extract(request: Request, settings: SettingsDep, limiter: LimiterDep,
                  cache: PagesDep) -> dict[str, Any]:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    embedder = get_embedder(request)
    if ctype == "application/json":
        body = await json_body(request)  # depth checked before parsing; surrogates refused
        try:
            req = TextExtractRequest.model_validate(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            if loc == "schema" and first["type"] == "dict_type":
                raise SchemaError("schema must be a JSON object",
                                  'e.g. {"type": "object", "properties": {...}}') from exc
            raise SchemaError(f"invalid request: {loc}: {first['msg']}") from exc
        service.check_text_chars(len(req.text or req.html or ""), settings.max_text_chars,
                                 "the 'text'" if req.text is not None else "the 'html'")
        schema = _schema(req.json_schema, settings)
        model = model_by_name(request, req.model)
        res = await limiter.run(_text_work, req, schema, embedder, model,
                                timeout=settings.request_timeout_s)
        return res.model_dump(mode="json")
    if ctype not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise UnsupportedTypeError(f"unsupported request content type {ctype or 'none'!r}",
                                   "use multipart/form-data (file) or application/json (text)")
    form = await request.form(max_files=1, max_fields=16,
                              max_part_size=settings.max_upload_bytes)
    schema = _schema(form.get("schema"), settings)  # fail fast, before any parsing
    engine = str(form.get("engine") or "extractive")
    if engine not in ("extractive", "generative"):
        raise SchemaError(f"unknown engine {engine!r}", "extractive or generative")
    upload = form.get("file")
    example = form.get("example")
    if upload is not None and not isinstance(upload, str):
        data = await upload.read()
        name = upload.filename or "upload"
    elif isinstance(example, str) and example:
        ex = examples(settings.examples_dir)
        if example not in ex:
            raise InputError(f"unknown example {example!r}", f"one of {sorted(ex)}")
        data, name = ex[example][1].read_bytes(), ex[example][1].name
    else:
        raise InputError("missing 'file'", "upload a PDF, an image or HTML as 'file'")
    model_name = form.get("model")
    model = model_by_name(request, str(model_name) if model_name else None)
    res, upload = await limiter.run(
        _file_work, data, schema, engine, embedder, model, str(form.get("ocr") or settings.ocr),
        str(form.get("pages")) if form.get("pages") else None, settings, name,
        timeout=settings.request_timeout_s)
    out = res.model_dump(mode="json")
    if service.has_page_images(upload):
        out["document_id"] = cache.put(data, upload.kind.value)
    return out


def _file_work(data: bytes, schema: LoadedSchema, engine: str, embedder: Any, model: Any,
               ocr: str, pages: str | None, settings: Settings, name: str) -> tuple[Any, Upload]:
    upload = service.open_upload(data, settings.max_pages, name, settings.max_text_chars)
    return service.extract_upload(upload, schema, engine=engine, embedder=embedder, model=model,
                                  ocr=ocr, pages=pages, max_pixels=settings.max_pixels,
                                  max_text_chars=settings.max_text_chars), upload
