"""FastAPI dependencies (``Annotated`` aliases): settings, API key, limiter, the model registry and
the models it holds (``app.state.registry``), generative models and sentence encoders by name;
:func:`read_request`, THE way an upload route reads a JSON body or a multipart form; and
:func:`json_body`, THE way a route parses a JSON request body (nesting checked on the bytes before
``json.loads`` recurses, lone surrogates refused), then :func:`body_model`, THE way its fields
are checked (a 422 naming the field). Both are synchronous (the scan is linear but in Python, and
a failed check formats the whole body), so routes call them in the request's worker, never on the
event loop."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError, model_validator

from prunestack.api.limits import Limiter, PageCache
from prunestack.api.service import check_text_chars
from prunestack.api.settings import Settings
from prunestack.encoder import SentenceEncoder
from prunestack.errors import (
    ConfigError,
    InputError,
    PrunestackError,
    TooLargeError,
    UnsupportedTypeError,
)
from prunestack.jsondepth import text_depth
from prunestack.models import ModelRegistry


class AuthError(PrunestackError):
    """Missing or wrong API key."""

    http_status = 401


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def require_key(settings: SettingsDep,
                x_api_key: Annotated[str | None, Header()] = None,
                authorization: Annotated[str | None, Header()] = None) -> None:
    presented = x_api_key
    if presented is None and authorization and authorization.lower().startswith("bearer "):
        presented = authorization[7:].strip()
    if not settings.key_ok(presented):
        raise AuthError("missing or wrong API key", "send it as X-API-Key or Authorization: Bearer")


KeyDep = Depends(require_key)


def get_limiter(request: Request) -> Limiter:
    return request.app.state.limiter


def get_pages(request: Request) -> PageCache:
    return request.app.state.pages


def get_registry(request: Request) -> ModelRegistry:
    return request.app.state.registry


def get_embedder(request: Request) -> SentenceEncoder:
    """The registry's default sentence encoder (``settings.encoder``, MiniLM when unset), loaded
    in the lifespan hook."""
    return get_registry(request).encoder(get_settings(request).encoder)


LimiterDep = Annotated[Limiter, Depends(get_limiter)]
PagesDep = Annotated[PageCache, Depends(get_pages)]
RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]


def model_by_name(models: ModelRegistry, settings: Settings, name: str | None
                  ) -> tuple[Any, Any] | None:
    """The (model, tokenizer) called ``name``; clients never pass paths. A model not preloaded
    loads here on first use, once: call it in the request's worker, not on the event loop."""
    if name is None:
        return None
    if name not in settings.models:
        raise ConfigError(f"unknown model {name!r}",
                          f"served models: {sorted(settings.models) or 'none'}")
    folder = settings.models[name]
    return models.causal_lm(folder), models.tokenizer(folder)


def encoder_by_name(models: ModelRegistry, settings: Settings, name: str | None
                    ) -> SentenceEncoder:
    """The sentence encoder called ``name`` in ``settings.encoders`` (the default encoder when
    None); clients never pass paths. One not preloaded loads here on first use, once: call it
    in the request's worker, not on the event loop."""
    if name is None:
        return models.encoder(settings.encoder)
    if name not in settings.encoders:
        raise ConfigError(f"unknown encoder {name!r}",
                          f"served encoders: {sorted(settings.encoders) or 'none'}")
    return models.encoder(settings.encoders[name])


# a \uD800-\uDFFF escape: the only way JSON text in UTF-8 can carry a lone surrogate
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def json_body(raw: bytes, settings: Settings) -> Any:
    """A request body (``await request.body()``) parsed as JSON. Its nesting is measured on the
    bytes first (Python's JSON parser recurses once per level): deeper than ``max_json_depth``
    is a 413. A string holding a lone UTF-16 surrogate (``"\\ud800"`` without its pair) is a
    400: it is not text, and tokenizers and regex engines fail on it."""
    limit = settings.max_json_depth
    if text_depth(raw, stop_at=limit) > limit:
        raise TooLargeError(f"the request body nests more than {limit} levels of arrays and "
                            "objects", "flatten it, or raise max_json_depth "
                            "(PRUNESTACK_MAX_JSON_DEPTH)")
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"the request body is not valid JSON: {exc}") from exc
    if json.detect_encoding(raw) in ("utf-8", "utf-8-sig") and \
            not _SURROGATE_ESCAPE.search(raw):
        return body  # no surrogate escape at all: nothing to check (and no second pass)
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(f"the request body holds a lone UTF-16 surrogate "
                         f"({exc.object[exc.start:exc.end]!a}): it is not text",
                         "a \\ud800-\\udbff escape must be followed by a \\udc00-\\udfff one"
                         ) from None
    return body


M = TypeVar("M", bound=BaseModel)


def body_model(model: type[M], data: Any) -> M:
    """``data`` (a parsed JSON body) checked against the route's request ``model``; a mismatch is
    ``RequestValidationError`` (422, the failing fields by name). The errors leave out the input,
    and are raised outside the ``except`` block (no ``__context__`` holding the
    ``ValidationError``): a 20 MB body is freed in the worker, not later on the event loop."""
    errors: list[Any] | None = None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = list(exc.errors(include_url=False, include_input=False))
    raise RequestValidationError(errors)


@dataclass
class FormParts:
    """A multipart (or url-encoded) request: the uploaded file, if any, and the other parts."""

    data: bytes | None = None
    name: str = "upload"
    parts: dict[str, Any] = field(default_factory=dict)

    def text(self, key: str) -> str | None:
        """A non-empty string part, else None."""
        value = self.parts.get(key)
        return value if isinstance(value, str) and value else None


async def read_request(request: Request, settings: Settings) -> bytes | FormParts:
    """An ``application/json`` request's body (bytes, for :func:`json_body` in the worker), or a
    form's parts (at most one file, 16 fields, each part within ``max_upload_bytes``); any other
    content type is ``UnsupportedTypeError`` (415)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json":
        return await request.body()
    if ctype not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise UnsupportedTypeError(f"unsupported request content type {ctype or 'none'!r}",
                                   "use multipart/form-data (file) or application/json (text)")
    form = await request.form(max_files=1, max_fields=16,
                              max_part_size=settings.max_upload_bytes)
    out = FormParts(parts=dict(form))
    upload = form.get("file")
    if upload is not None and not isinstance(upload, str):
        out.data, out.name = await upload.read(), upload.filename or "upload"
    return out


class TextOrHtml(BaseModel):
    """The JSON body's document: exactly one of ``text`` or ``html`` (routes add their fields)."""

    text: str | None = None
    html: str | None = None

    @model_validator(mode="after")
    def _one_input(self) -> TextOrHtml:
        if (self.text is None) == (self.html is None):
            raise ValueError("give exactly one of 'text' or 'html'")
        return self

    def checked(self, max_chars: int) -> str:
        """The document (the text or the HTML) within ``max_chars`` characters; over it,
        ``TooLargeError`` (413) naming the field."""
        content = self.text if self.text is not None else self.html or ""
        check_text_chars(len(content), max_chars,
                         "the 'text'" if self.text is not None else "the 'html'")
        return content
