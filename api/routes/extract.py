"""``POST /v1/extract``: a document + a JSON Schema → JSON valid against it, with provenance.

Two request shapes on one path: ``multipart/form-data`` with ``file`` (PDF, image or HTML) or
``example`` (a bundled example's name) plus ``schema`` (JSON text), ``engine``, ``model`` (a served
model's *name*), ``encoder`` (a served sentence encoder's *name*; the default encoder when absent),
``ocr``, ``pages``; or ``application/json`` with ``schema`` and ``text`` or ``html`` (and
``engine``, ``model``, ``encoder``). The answer is the :class:`~pipeline.extract.ExtractionResult`
plus a ``document_id`` for page images when a PDF or image was uploaded.

The event loop only receives the body (and starlette splits a multipart one); everything else runs
in the request's worker, inside the limiter and the deadline, and is cancelled when the client goes
away: decoding and validating a JSON body, loading and checking the schema (first, so a bad schema
answers 422 before any parsing), loading a served model or encoder, parsing, extraction, hashing the
upload for the page-image cache and writing the answer's JSON text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ConfigDict, Field

from prunestack.api import service
from prunestack.api.deps import (
    FormParts,
    KeyDep,
    LimiterDep,
    PagesDep,
    SettingsDep,
    TextOrHtml,
    body_model,
    encoder_by_name,
    get_embedder,
    get_registry,
    json_body,
    model_by_name,
    read_request,
)
from prunestack.api.limits import PageCache
from prunestack.api.routes.documents import examples
from prunestack.api.settings import Settings
from prunestack.errors import InputError, SchemaError
from prunestack.models import ModelRegistry
from prunestack.parsers.html import parse_html
from prunestack.parsers.text import text_document
from prunestack.pipeline.extract import extract_document
from prunestack.pipeline.schema import LoadedSchema, load_schema, require_object_root

router = APIRouter(prefix="/v1", tags=["extract"], dependencies=[KeyDep])


class TextExtractRequest(TextOrHtml):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    json_schema: dict[str, Any] = Field(alias="schema")
    engine: Literal["extractive", "generative"] = "extractive"
    model: str | None = Field(default=None, description="a served model's name")
    encoder: str | None = Field(default=None, description="a served sentence encoder's name "
                                "(default: the server's default encoder)")


OPENAPI_BODY = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["schema"], "properties": {
        "file": {"type": "string", "format": "binary"},
        "example": {"type": "string", "description": "name of a bundled example instead of file"},
        "schema": {"type": "string", "description": "JSON Schema (JSON text)"},
        "engine": {"type": "string", "enum": ["extractive", "generative"]},
        "model": {"type": "string"}, "encoder": {"type": "string"}, "ocr": {"type": "string"},
        "pages": {"type": "string"}}}},
    "application/json": {"schema": {"type": "object", "required": ["schema"], "properties": {
        "schema": {"type": "object"}, "text": {"type": "string"}, "html": {"type": "string"},
        "engine": {"type": "string", "enum": ["extractive", "generative"]},
        "model": {"type": "string"}, "encoder": {"type": "string"}}}}}}}


@dataclass(frozen=True)
class _App:
    """What a worker needs from the app (read on the event loop, used in the worker)."""

    settings: Settings
    models: ModelRegistry
    embedder: Any
    pages: PageCache


def _schema(raw: Any, settings: Settings) -> LoadedSchema:
    """A schema a client sent (JSON text or a parsed object), loaded and checked once, before
    any work, within the server's schema limits. Never a path: a string that names a file is
    refused, not read."""
    if not (isinstance(raw, dict) or (isinstance(raw, str) and raw.strip())):
        raise SchemaError("missing 'schema'", "send a JSON Schema as a form field or JSON")
    schema = load_schema(raw, allow_path=False, limits=settings.schema_limits())
    require_object_root(schema)
    return schema


def _json_request(body: bytes, settings: Settings) -> TextExtractRequest:
    data = json_body(body, settings)  # depth checked before parsing; surrogates refused
    if isinstance(data, dict) and not isinstance(data.get("schema", {}), dict):
        raise SchemaError("schema must be a JSON object",
                          'e.g. {"type": "object", "properties": {...}}')
    req = body_model(TextExtractRequest, data)
    req.checked(settings.max_text_chars)
    return req


def _json_work(body: bytes, app: _App) -> bytes:
    req = _json_request(body, app.settings)
    schema = _schema(req.json_schema, app.settings)  # fail fast, before any parsing
    model = model_by_name(app.models, app.settings, req.model)
    embedder = app.embedder if req.encoder is None else \
        encoder_by_name(app.models, app.settings, req.encoder)
    if req.text is not None:
        doc = text_document(req.text)
    else:
        doc = parse_html(req.html or "")  # text: not re-decoded by its own <meta charset>
    m, tok = model if model else (None, None)
    res = extract_document(doc, schema, req.engine, embedder=embedder, model=m, tokenizer=tok)
    return service.json_bytes(res.model_dump(mode="json"))


def _form_work(form: FormParts, app: _App) -> bytes:
    """The multipart fields, checked in this order: schema, engine, file or example, models."""
    settings = app.settings
    schema = _schema(form.parts.get("schema"), settings)  # fail fast, before any parsing
    engine, example = form.text("engine") or "extractive", form.text("example") or ""
    if engine not in ("extractive", "generative"):
        raise SchemaError(f"unknown engine {engine!r}", "extractive or generative")
    data, name = form.data, form.name
    if data is None:
        ex = examples(settings.examples_dir) if example else {}
        if not example:
            raise InputError("missing 'file'", "upload a PDF, an image or HTML as 'file'")
        if example not in ex:
            raise InputError(f"unknown example {example!r}", f"one of {sorted(ex)}")
        data, name = ex[example][1].read_bytes(), ex[example][1].name
    model = model_by_name(app.models, settings, form.text("model"))
    encoder = form.text("encoder")
    embedder = app.embedder if encoder is None else \
        encoder_by_name(app.models, settings, encoder)
    upload = service.open_upload(data, settings.max_pages, name, settings.max_text_chars)
    res = service.extract_upload(upload, schema, engine=engine, embedder=embedder,
                                 model=model, ocr=form.text("ocr") or settings.ocr,
                                 pages=form.text("pages"),
                                 max_pixels=settings.max_pixels,
                                 max_text_chars=settings.max_text_chars)
    out = res.model_dump(mode="json")
    if service.has_page_images(upload):
        out["document_id"] = app.pages.put(data, upload.kind.value)
    return service.json_bytes(out)


@router.post("/extract", openapi_extra=OPENAPI_BODY, response_class=JSONResponse)
async def extract(request: Request, settings: SettingsDep, limiter: LimiterDep,
                  cache: PagesDep) -> Response:
    app = _App(settings, get_registry(request), get_embedder(request), cache)
    got = await read_request(request, settings)
    work = _json_work if isinstance(got, bytes) else _form_work
    answer = await limiter.run(work, got, app, timeout=settings.request_timeout_s,
                               disconnected=request.is_disconnected)
    return Response(answer, media_type="application/json")
