"""Walk a JSON instance token by token through a matcher, MaskBench style: the instance is
serialised compactly (raw UTF-8); at each position the mask is computed and the longest token
it allows whose bytes are the text's next bytes is fed (a byte-fallback token covers any byte;
llguidance allows only the canonical tokens of bytes its grammar forces, so the walk follows
the mask rather than a fixed tokenisation). Accepted = the whole text fed and the matcher
accepting at the end: a token sequence spelling exactly the text that the masks allowed, so an
accept here is an accept by the matcher."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from prunestack.pipeline.decoding.vocab import token_bytes


@lru_cache(maxsize=4)
def _table(tokenizer: Any) -> tuple[dict[bytes, list[int]], int]:
    table: dict[bytes, list[int]] = {}
    for i, b in enumerate(token_bytes(tokenizer)):
        if b:
            table.setdefault(b, []).append(i)
    return table, max(len(b) for b in table)


def walks(matcher: Any, tokenizer: Any, instance: Any) -> bool:
    """Whether ``matcher`` (fresh) accepts ``instance`` walked token by token."""
    table, longest = _table(tokenizer)
    data = json.dumps(instance, separators=(",", ":"), ensure_ascii=False).encode()
    i = 0
    while i < len(data):
        allowed = matcher.mask()  # bool [V]
        for n in range(min(longest, len(data) - i), 0, -1):
            tid = next((t for t in table.get(data[i:i + n], ()) if bool(allowed[t])), None)
            if tid is not None:
                matcher.advance(tid)
                i += n
                break
        else:
            return False
    return bool(matcher.is_accepting())
