"""The Matcher protocol: what a compiled JSON-schema constraint offers to any decoder
(autoregressive, speculative, diffusion slot infill, a benchmark walking a document).

``compile_schema(schema, tokenizer, backend=...)`` (exported from ``prunestack.pipeline.decoding``)
returns a fresh object with this interface; all three backends (``llguidance``, ``outlines``,
``xgrammar``) implement it. A matcher holds the state of one sequence: it is never shared between
sequences, and ``reset()`` returns it to the start of the document.

The packed bitmask (``fill_bitmask``) is what generation uses: an int32 row of
``ceil(vocab_size / 32)`` words where bit ``j`` of word ``w`` says whether token ``32·w + j`` may
come next (the layout of llguidance, xgrammar and outlines-core alike; ``vocab.unpack_bitmask``
turns it into a bool row). ``mask()`` is the same answer as a bool tensor, for callers that do not
care about the few microseconds the unpacking costs.

What it does not do: implement anything (``pipeline.decoding.backends`` does).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class Matcher(Protocol):
    """One sequence's view of a compiled schema. ``backend`` names the engine behind it
    ("llguidance", "outlines" or "xgrammar"); ``vocab_size`` is the tokenizer's number of ids
    (base vocabulary + added tokens). The backend matchers also carry ``eos_token_id``, the
    token allowed exactly when the text so far is a complete instance."""

    backend: str
    vocab_size: int

    def mask(self) -> torch.Tensor:
        """Bool tensor [V]: True where a token is allowed next."""
        ...

    def fill_bitmask(self, row: torch.Tensor) -> None:
        """Write the allowed-token set into ``row``, a contiguous int32 CPU tensor [W],
        W = ceil(vocab_size / 32), packed as described in the module docstring."""
        ...

    def advance(self, token_id: int) -> None:
        """Consume one token; raises ``TokenRejectedError`` (state unchanged) if it is not
        allowed here."""
        ...

    def rollback(self, n: int) -> None:
        """Undo the last ``n`` advanced tokens."""
        ...

    def is_accepting(self) -> bool:
        """True when the text so far is a complete value (EOS is allowed)."""
        ...

    def reset(self) -> None:
        """Back to the start of the document (as freshly compiled)."""
        ...

    def forced_tokens(self) -> list[int]:
        """Tokens the grammar forces next (exactly one continuation), possibly empty."""
        ...
