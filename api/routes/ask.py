"""``POST /v1/ask``: a document + a question → evidence within a word budget and an answer.

Two request shapes on one path: ``multipart/form-data`` with ``file`` (PDF, image or HTML),
``question``, and optionally ``budget``, ``engine``, ``model`` (a served model's *name*),
``encoder`` (a served sentence encoder's *name*), ``ocr``, ``pages``; or ``application/json``
with ``question`` and ``text`` or ``html`` (and ``budget``, ``engine``, ``model``, ``encoder``).
The answer is :class:`prunestack.pipeline.ask.AskResult` as JSON: ``{question, question_type,
answer, answer_provenance, evidence: [{text, page, bbox, path, score}], timings}``.

Every size is bounded as on the other routes: the upload by the upload middleware and
``max_upload_bytes``, pages by ``max_pages``, text (a body's, a decoded page's, a parsed
document's) by ``max_text_chars``, JSON nesting by ``max_json_depth``, the question to 2,000
characters and the budget to 1..100,000 words. A document is parsed once per server process and
kept with its evidence index (``pipeline.ask``'s cache, keyed by the sha256 of its bytes and the
parser options), so a second question on the same upload skips parsing and indexing. All work
runs in the request's worker, inside the limiter and the deadline."""

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
    SettingsDep,
    TextOrHtml,
    body_model,
    encoder_by_name,
    get_registry,
    json_body,
    model_by_name,
    read_request,
)
from prunestack.api.settings import Settings
from prunestack.errors import ConfigError, InputError
from prunestack.models import ModelRegistry
from prunestack.pipeline.ask.core import (
    MAX_BUDGET,
    ask_document,
    check_question,
    document_key,
    prepare_document,
)

router = APIRouter(prefix="/v1", tags=["ask"], dependencies=[KeyDep])


class TextAskRequest(TextOrHtml):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=2000)
    budget: int = Field(default=256, ge=1, le=MAX_BUDGET, description="evidence words")
    engine: Literal["extractive", "generative"] = "extractive"
    model: str | None = Field(default=None, description="a served model's name")
    encoder: str | None = Field(default=None, description="a served sentence encoder's name")


OPENAPI_BODY = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["file", "question"],
                                       "properties": {
        "file": {"type": "string", "format": "binary"},
        "question": {"type": "string"}, "budget": {"type": "integer"},
        "engine": {"type": "string", "enum": ["extractive", "generative"]},
        "model": {"type": "string"}, "encoder": {"type": "string"}, "ocr": {"type": "string"},
        "pages": {"type": "string"}}}},
    "application/json": {"schema": TextAskRequest.model_json_schema()}}}}


@dataclass(frozen=True)
class _App:
    settings: Settings
    models: ModelRegistry


def _models(app: _App, engine: str, model: str | None, encoder: str | None
            ) -> tuple[Any, tuple[Any, Any] | None]:
    if model is not None and engine != "generative":
        raise ConfigError("'model' applies to the generative engine",
                          'send "engine": "generative", or drop "model"')
    lm = model_by_name(app.models, app.settings, model)
    if engine == "generative" and lm is None:
        raise ConfigError("the generative engine needs 'model'",
                          f"served models: {sorted(app.settings.models) or 'none'}")
    return encoder_by_name(app.models, app.settings, encoder), lm


def _answer(key: str, read: Any, question: str, budget: int, engine: str, encoder: Any,
            lm: tuple[Any, Any] | None) -> bytes:
    prepared, hit = prepare_document(key, read, encoder)
    m, tok = lm if lm else (None, None)
    res = ask_document(prepared, question, budget, engine=engine,  # type: ignore[arg-type]
                       encoder=encoder, model=m, tokenizer=tok, cached=hit)
    return service.json_bytes(res.model_dump(mode="json"))


def _json_work(body: bytes, app: _App) -> bytes:
    # depth checked before parsing, surrogates refused; then the fields (422 naming them)
    req = body_model(TextAskRequest, json_body(body, app.settings))
    content = req.checked(app.settings.max_text_chars)
    question = check_question(req.question, req.budget, "extractive", None)
    encoder, lm = _models(app, req.engine, req.model, req.encoder)
    html = req.html is not None
    key = document_key(content, kind="html" if html else "text")

    def read() -> Any:
        from prunestack.parsers.html import parse_html
        from prunestack.parsers.text import text_document

        return parse_html(content) if html else text_document(content)

    return _answer(key, read, question, req.budget, req.engine, encoder, lm)


def _form_work(form: FormParts, app: _App) -> bytes:
    settings = app.settings
    budget_text, engine = form.text("budget"), form.text("engine") or "extractive"
    pages = form.text("pages")
    if form.data is None:
        raise InputError("missing 'file'", "upload a PDF, an image or HTML as 'file'")
    try:
        budget = int(budget_text) if budget_text else 256
    except ValueError:
        raise ConfigError(f"budget {budget_text!r} is not a whole number",
                          f"1 to {MAX_BUDGET} words") from None
    question = check_question(form.text("question") or "", budget, "extractive", None)
    if engine not in ("extractive", "generative"):
        raise ConfigError(f"unknown engine {engine!r}", "extractive or generative")
    encoder, lm = _models(app, engine, form.text("model"), form.text("encoder"))
    upload = service.open_upload(form.data, settings.max_pages, form.name,
                                 settings.max_text_chars)
    ocr = form.text("ocr") or settings.ocr
    key = document_key(upload.data, ocr=ocr, pages=pages, max_pixels=settings.max_pixels)

    def read() -> Any:
        return service.parse_upload(upload, ocr=ocr, pages=pages,
                                    max_pixels=settings.max_pixels,
                                    max_text_chars=settings.max_text_chars)

    return _answer(key, read, question, budget, engine, encoder, lm)


@router.post("/ask", openapi_extra=OPENAPI_BODY, response_class=JSONResponse)
async def ask(request: Request, settings: SettingsDep, limiter: LimiterDep) -> Response:
    app = _App(settings, get_registry(request))
    got = await read_request(request, settings)
    work = _json_work if isinstance(got, bytes) else _form_work
    answer = await limiter.run(work, got, app, timeout=settings.request_timeout_s,
                               disconnected=request.is_disconnected)
    return Response(answer, media_type="application/json")

