"""Server settings, read from the environment (prefix ``PRUNESTACK_``) or passed in tests.

Limits protect the service: the largest upload in bytes (checked from ``Content-Length`` before
reading and counted while streaming), the most pages per document, the most characters of text (JSON
bodies, and every upload once decoded or parsed), the nesting depth of a JSON body (checked on its
bytes before it is parsed), the pixels one page image may be decoded at, the limits every JSON
Schema is held to (``max_schema_*``: :class:`prunestack.pipeline.schema.SchemaLimits`, through
:meth:`Settings.schema_limits`), a per-request deadline, how many requests run at once and how many
may wait. Models are served by *name*: the operator maps names to local folders
(``PRUNESTACK_MODELS='{"tiny": "/models/tiny"}'`` for generative models,
``PRUNESTACK_ENCODERS='{"small": "/models/minilm-50"}'`` for sentence encoders such as a pruned
MiniLM) and clients only ever send names. ``encoder`` is the folder of the default sentence encoder
(MiniLM when unset; ``prunestack serve --encoder DIR``). An optional API key is compared in constant
time."""

from __future__ import annotations

import hmac
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from prunestack.pipeline.schema import DEFAULT_LIMITS, SchemaLimits
from prunestack.pipeline.schema.limits import MAX_DEPTH

_S = DEFAULT_LIMITS


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PRUNESTACK_", extra="forbid")

    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    max_pages: int = Field(default=50, ge=1)
    max_text_chars: int = Field(default=2_000_000, ge=1000, description="characters of text "
                                "in a JSON body, a decoded HTML upload or a parsed document")
    max_json_depth: int = Field(default=256, ge=8, le=512, description="nesting of a JSON "
                                "request body, checked before it is parsed")
    max_pixels: int = Field(default=40_000_000, ge=1_000_000, le=150_000_000,
                            description="pixels one page image is decoded at (a JPEG over it is "
                            "decoded at 1/2..1/8 scale where that fits; other images are refused)")
    max_schema_bytes: int = Field(default=_S.max_schema_bytes, ge=1024)
    max_schema_depth: int = Field(default=_S.max_schema_depth, ge=4, le=MAX_DEPTH)
    max_schema_subschemas: int = Field(default=_S.max_schema_subschemas, ge=1)
    max_schema_ref_expansion: int = Field(default=_S.max_schema_ref_expansion, ge=100)
    max_schema_enum: int = Field(default=_S.max_schema_enum, ge=1)
    max_schema_properties: int = Field(default=_S.max_schema_properties, ge=1)
    max_schema_placeholder: int = Field(default=_S.max_schema_placeholder, ge=100)
    request_timeout_s: float = Field(default=120.0, gt=0)
    max_concurrency: int = Field(default=2, ge=1, description="requests doing work at once")
    max_queue: int = Field(default=8, ge=0, description="requests allowed to wait for a slot; "
                           "more get 429")
    queue_timeout_s: float = Field(default=10.0, ge=0, description="longest wait for a slot; "
                                   "then 503")
    models: dict[str, Path] = Field(default_factory=dict,
                                    description="generative models that may be served, by name")
    encoders: dict[str, Path] = Field(default_factory=dict,
                                      description="sentence encoders that may be served, by name")
    encoder: Path | None = Field(default=None, description="the default sentence encoder's "
                                 "folder (None: all-MiniLM-L6-v2)")
    preload_models: bool = Field(default=True, description="load every model at start-up")
    api_key: SecretStr | None = None
    ocr: str = "auto"
    torch_threads: int = Field(default=1, ge=1)
    page_cache_docs: int = Field(default=32, ge=1, description="uploads kept for page images")
    page_cache_bytes: int = Field(default=256 * 1024 * 1024, ge=1024)
    examples_dir: Path = Path(__file__).resolve().parent.parent / "examples"

    @field_validator("models", "encoders")
    @classmethod
    def _names(cls, v: dict[str, Path]) -> dict[str, Path]:
        for name in v:
            if not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
                raise ValueError(f"model name {name!r}: use letters, digits, '-', '_', '.'")
        return v

    def schema_limits(self) -> SchemaLimits:
        """The limits every schema a client sends is held to (``max_schema_*``)."""
        return SchemaLimits(**{f: getattr(self, f) for f in SchemaLimits.__dataclass_fields__})

    def key_ok(self, presented: str | None) -> bool:
        """True when no key is configured or ``presented`` equals it (constant-time compare)."""
        if self.api_key is None:
            return True
        if presented is None:
            return False
        return hmac.compare_digest(presented.encode(), self.api_key.get_secret_value().encode())
