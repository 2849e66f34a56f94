"""The Matcher protocol: what a compiled JSON-schema constraint offers to any decoder
(autoregressive, speculative, diffusion slot infill). Implementations live in
``pipeline.decoding`` (``compile_schema(schema, tokenizer) -> Matcher``)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class Matcher(Protocol):
    vocab_size: int

    def mask(self) -> torch.Tensor:
        """Bool tensor [V]: True where a token is allowed next."""
        ...

    def advance(self, token_id: int) -> None:
        """Consume one token; raises if the token is not allowed."""
        ...

    def rollback(self, n: int) -> None:
        """Undo the last n advanced tokens."""
        ...

    def is_accepting(self) -> bool:
        """True when the text so far is a complete value (EOS is allowed)."""
        ...

    def forced_tokens(self) -> list[int]:
        """Tokens the grammar forces next (exactly one continuation), possibly empty."""
        ...
