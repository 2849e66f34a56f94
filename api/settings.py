"""Server settings, read from the environment (prefix ``PRUNESTACK_``) or passed in tests.

Limits protect the service: the largest upload in bytes (checked from ``Content-Length`` before
reading and counted while streaming), the most pages per document, a per-request deadline, how
many requests run at once and how many may wait. Models are served by *name*: the operator maps
names to local folders (``PRUNESTACK_MODELS='{"tiny": "/models/tiny"}'``) and clients only ever
send names. An optional API key is compared in constant time.
"""

from __future__ import annotations

import hmac
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PRUNESTACK_", extra="forbid")

    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    max_pages: int = Field(default=50, ge=1)
    max_text_chars: int = Field(default=2_000_000, ge=1000)
    request_timeout_s: float = Field(default=120.0, gt=0)
    max_concurrency: int = Field(default=2, ge=1, description="requests doing work at once")
    max_queue: int = Field(default=8, ge=0, description="requests allowed to wait for a slot; "
                           "more get 429")
    queue_timeout_s: float = Field(default=10.0, ge=0, description="longest wait for a slot; "
                                   "then 503")
    models: dict[str, Path] = Field(default_factory=dict,
                                    description="generative models that may be served, by name")
    preload_models: bool = Field(default=True, description="load every model at start-up")
    api_key: SecretStr | None = None
    ocr: str = "auto"
    torch_threads: int = Field(default=1, ge=1)
    page_cache_docs: int = Field(default=32, ge=1, description="uploads kept for page images")
    page_cache_bytes: int = Field(default=256 * 1024 * 1024, ge=1024)
    examples_dir: Path = Path(__file__).resolve().parent.parent / "examples"

    @field_validator("models")
    @classmethod
    def _names(cls, v: dict[str, Path]) -> dict[str, Path]:
        for name in v:
            if not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
                raise ValueError(f"model name {name!r}: use letters, digits, '-', '_', '.'")
        return v

    def key_ok(self, presented: str | None) -> bool:
        """True when no key is configured or ``presented`` equals it (constant-time compare)."""
        if self.api_key is None:
            return True
        if presented is None:
            return False
        return hmac.compare_digest(presented.encode(), self.api_key.get_secret_value().encode())
