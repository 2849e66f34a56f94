"""Generative fine-grained block scoring (HtmlRAG's generative pruner) with any local causal LM.

Each block's path (``<html><body><div2><p>``) is tokenised; the token sequences form a prefix tree
(trie). The model reads ``prompt = page HTML + question + instruction``; at every trie node with
several children there is ONE forward pass over ``prompt + prefix`` and the logits at the LAST
position (the next-token prediction — the reference reads position 0) are soft-maxed over the
candidate child tokens only; a node with one child gets probability 1 without a model call.
Path score = Σ log max(p, 1e-9) over the path's tokens / mean path depth (in tags).

The prompt's KV cache is reused: the trie is walked depth-first and the cache is cropped back to the
common prefix before each forward, so each branching node costs only its new tokens. It does not
generate text and does not fine-tune; an untrained model gives untrained scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from prunestack.errors import ModelError
from prunestack.models import registry

LOG_FLOOR = 1e-9
PROMPT_TEMPLATE = ("{html}\n\nQuestion: {query}\n"
                   "The path of the HTML element that answers the question is:")


@dataclass
class TrieNode:
    children: dict[int, TrieNode] = field(default_factory=dict)
    prob: float = 1.0  # p(this token | prefix), 1.0 where the parent has a single child


def build_trie(paths: Sequence[Sequence[int]]) -> TrieNode:
    root = TrieNode()
    for p in paths:
        node = root
        for t in p:
            node = node.children.setdefault(int(t), TrieNode())
    return root


def branching_nodes(root: TrieNode) -> int:
    """Number of trie nodes with more than one child (= forward passes needed)."""
    n, stack = 0, [root]
    while stack:
        node = stack.pop()
        n += len(node.children) > 1
        stack.extend(node.children.values())
    return n


def path_scores(root: TrieNode, paths: Sequence[Sequence[int]], mean_depth: float) -> np.ndarray:
    """Σ log max(p, floor) along each path / mean depth; float64 [n_paths]."""
    out = np.zeros(len(paths), dtype=np.float64)
    for i, p in enumerate(paths):
        node, total = root, 0.0
        for t in p:
            node = node.children[int(t)]
            total += float(np.log(max(node.prob, LOG_FLOOR)))
        out[i] = total / max(mean_depth, 1e-9)
    return out


def _crop(cache: Any, keep: int) -> None:
    """Cut a KV cache back to its first ``keep`` positions."""
    current = cache.get_seq_length()
    if current > keep:
        cache.crop(keep - current)  # transformers >= 5: negative = number of tokens to remove


class GenerativeScorer:
    """Scores block paths with a causal LM. ``forward_calls`` counts model calls of the last run."""

    def __init__(self, model: Any, tokenizer: Any, max_prompt_tokens: int | None = None,
                 use_cache: bool = True) -> None:
        self.model = model
        self.tokenizer = tokenizer
        limit = getattr(model.config, "max_position_embeddings", None) or 4096
        self.max_prompt_tokens = min(max_prompt_tokens or limit, limit)
        self.use_cache = use_cache
        self.forward_calls = 0
        self.trie: TrieNode | None = None

    @classmethod
    def from_folder(cls, model_dir: str | Path, tokenizer_dir: str | Path | None = None,
                    device: str | None = "cpu", **kw: Any) -> GenerativeScorer:
        models = registry()  # shared read-only: scoring never edits the model
        return cls(models.causal_lm(model_dir, device=device),
                   models.tokenizer(tokenizer_dir or model_dir), **kw)

    # -- prompt ---------------------------------------------------------------------------------
    def encode_path(self, tag_path: Sequence[str]) -> list[int]:
        text = "".join(f"<{t}>" for t in tag_path)
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def prompt_ids(self, html: str, query: str, reserve: int) -> list[int]:
        """Prompt tokens; the HTML part is cut from the end so prompt + longest path fits."""
        tok = self.tokenizer
        head = [tok.bos_token_id] if getattr(tok, "bos_token_id", None) is not None else []
        after = PROMPT_TEMPLATE.split("{html}")[1]
        tail = list(tok.encode(after.format(query=query), add_special_tokens=False))
        body = list(tok.encode(html, add_special_tokens=False))
        room = self.max_prompt_tokens - reserve - len(head) - len(tail)
        if room < 0:
            raise ModelError(f"the model's context ({self.max_prompt_tokens} tokens) cannot hold "
                             "the question and the block paths",
                             "use a model with a longer context")
        return head + body[:room] + tail

    # -- scoring --------------------------------------------------------------------------------
    def _next_logits(self, ids: list[int], state: dict) -> Any:
        """Logits [V] at the LAST position of ``ids`` (one forward pass)."""
        import torch

        self.forward_calls += 1
        device = next(self.model.parameters()).device
        cache, cached = state.get("cache"), state.get("ids", [])
        start = 0
        if self.use_cache and cache is not None:
            common = 0
            for a, b in zip(cached, ids, strict=False):
                if a != b:
                    break
                common += 1
            start = min(common, len(ids) - 1)  # at least one new token to read logits from
            _crop(cache, start)
        x = torch.tensor([ids[start:]], dtype=torch.long, device=device)  # [1, S]
        kw: dict[str, Any] = {"use_cache": self.use_cache}
        if self.use_cache and cache is not None:
            kw["past_key_values"] = cache
        with torch.inference_mode():
            try:
                out = self.model(input_ids=x, logits_to_keep=1, **kw)
            except TypeError:  # models without logits_to_keep
                out = self.model(input_ids=x, **kw)
        if self.use_cache:
            state["cache"], state["ids"] = out.past_key_values, list(ids)
        return out.logits[0, -1].float()  # [V]: prediction of the token after ids[-1]

    def score(self, html: str, query: str, tag_paths: Sequence[Sequence[str]]) -> np.ndarray:
        """Score of every path (higher = more relevant); float64 [n_paths]."""
        import torch

        self.forward_calls = 0
        paths = [self.encode_path(tp) for tp in tag_paths]
        if not paths:
            return np.zeros(0)
        prompt = self.prompt_ids(html, query, reserve=max(len(p) for p in paths))
        root = build_trie(paths)
        state: dict = {}
        stack: list[tuple[TrieNode, list[int]]] = [(root, [])]
        while stack:  # depth-first: consecutive forwards share the longest cached prefix
            node, prefix = stack.pop()
            if len(node.children) > 1:
                logits = self._next_logits(prompt + prefix, state)  # [V]
                cands = list(node.children)
                probs = torch.softmax(logits[cands], dim=-1)  # [n_children], candidates only
                for t, p in zip(cands, probs.tolist(), strict=True):
                    node.children[t].prob = p
            elif node.children:
                next(iter(node.children.values())).prob = 1.0
            for t, child in reversed(list(node.children.items())):
                stack.append((child, [*prefix, t]))
        self.trie = root
        mean_depth = float(np.mean([len(tp) for tp in tag_paths]))
        return path_scores(root, paths, mean_depth)
