"""Prune a cleaned page to a token budget: score blocks, keep the best that fit, render in order.

One interface (:class:`Pruner`: ``score(query, blocks, context_html) -> [n_blocks]``) and four
implementations: BM25, embedding (MiniLM + faiss), generative (any causal LM, see
:mod:`retrieval.generative`) and two-step (coarse BM25/embedding to ``coarse_factor`` × budget, then
generative on finer blocks to the budget — HtmlRAG's pipeline).

Selection (:func:`select_blocks`) is greedy by score and, unlike the reference package's
``prune_HTML`` (which stops at the first block that overflows and then deletes the *higher*-ranked
ones it had already counted), skips a block that does not fit and keeps trying lower-ranked smaller
ones. Costs are estimated per block (+ each ancestor tag opened once), then the exact output string
is counted and lowest-scored blocks are dropped until it fits: the budget is never exceeded.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from prunestack.cancel import checked, checkpoint
from prunestack.errors import ConfigError, InputError
from prunestack.models import registry
from prunestack.retrieval.blocktree import (
    Block,
    BlockTree,
    build_block_tree,
    render,
    table_header_blocks,
)
from prunestack.retrieval.bm25 import BM25
from prunestack.retrieval.boilerplate import (
    BoilerplateConfig,
    block_priors,
    demote,
    link_word_counts,
)
from prunestack.retrieval.budget import TokenCounter, make_counter
from prunestack.retrieval.clean import CleanConfig, Node, _start, serialize
from prunestack.retrieval.embed import cosine_scores
from prunestack.retrieval.generative import GenerativeScorer

PrunerName = Literal["bm25", "embed", "gen", "two-step"]


class PruneConfig(BaseModel):
    """User options for :func:`prune_html`."""

    model_config = ConfigDict(extra="forbid")

    pruner: PrunerName = "bm25"
    max_words: int = Field(default=256, ge=1, description="block size for bm25/embed/coarse step")
    fine_max_words: int = Field(default=128, ge=1, description="block size for the generative step")
    coarse: Literal["bm25", "embed"] = "bm25"
    coarse_factor: float = Field(default=2.0, ge=1.0)
    keep_href: bool = False
    boilerplate: BoilerplateConfig = Field(
        default_factory=BoilerplateConfig,
        description="demotion of nav / footer / cookie / share / related blocks (weight 0 = off)")


class PruneResult(BaseModel):
    """A pruned page: the kept blocks' HTML (``html``) within ``budget`` tokens (``tokens`` used),
    each kept block's path in the cleaned tree, its path in the source page and its score."""

    html: str
    kept_paths: list[str]
    tokens: int
    budget: int
    blocks_total: int = 0
    source_paths: list[str | None] = Field(default_factory=list)
    scores: list[float] = Field(default_factory=list)


class Pruner(Protocol):
    name: str

    def score(self, query: str, blocks: Sequence[Block], context_html: str) -> np.ndarray:
        """Relevance of each block to ``query`` (higher = keep first); float [n_blocks]."""
        ...


class BM25Pruner:
    name = "bm25"
    min_score = 0.0  # a block sharing no query term is never kept

    def __init__(self, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b

    def score(self, query: str, blocks: Sequence[Block], context_html: str = "") -> np.ndarray:
        return BM25([b.text for b in blocks], self.k1, self.b).scores(query)


class EmbedPruner:
    name = "embed"

    def __init__(self, encoder: Any = None) -> None:
        # a folder (or None = MiniLM), or any object with encode(texts) -> [n, dim] unit vectors
        self.encoder = registry().encoder(encoder) if encoder is None or isinstance(
            encoder, str | Path) else encoder

    def score(self, query: str, blocks: Sequence[Block], context_html: str = "") -> np.ndarray:
        vecs = self.encoder.encode([b.text for b in blocks])  # [n, dim]
        q = self.encoder.encode([query])[0]  # [dim]
        return cosine_scores(q, vecs).astype(np.float64)


class GenPruner:
    name = "gen"

    def __init__(self, model: str | Path | Any, tokenizer: str | Path | None = None,
                 max_prompt_tokens: int | None = None) -> None:
        if isinstance(model, GenerativeScorer):
            self.scorer = model
        elif isinstance(model, str | Path):
            self.scorer = GenerativeScorer.from_folder(model, tokenizer,
                                                       max_prompt_tokens=max_prompt_tokens)
        else:
            raise ConfigError("GenPruner needs a model folder or a GenerativeScorer")

    def score(self, query: str, blocks: Sequence[Block], context_html: str = "") -> np.ndarray:
        return self.scorer.score(context_html, query, [b.tag_path for b in blocks])


class TwoStepPruner:
    """Coarse pruner to ``factor`` × budget on coarse blocks, then fine pruner on finer blocks."""

    name = "two-step"

    def __init__(self, coarse: Pruner, fine: Pruner, factor: float = 2.0,
                 fine_max_words: int = 128) -> None:
        self.coarse, self.fine = coarse, fine
        self.factor, self.fine_max_words = factor, fine_max_words

    def score(self, query: str, blocks: Sequence[Block], context_html: str = "") -> np.ndarray:
        return self.coarse.score(query, blocks, context_html)


def make_pruner(name: str, model: str | Path | None = None, encoder: str | Path | None = None,
                tokenizer: str | Path | None = None, config: PruneConfig | None = None) -> Pruner:
    """A pruner by name; ``model`` is the causal LM folder needed by ``gen`` and ``two-step``."""
    cfg = config or PruneConfig()
    if name == "bm25":
        return BM25Pruner()
    if name == "embed":
        return EmbedPruner(encoder)
    if name in ("gen", "two-step"):
        if model is None:
            raise ConfigError(f"pruner {name!r} needs a causal LM", "pass --model DIR")
        gen = GenPruner(model, tokenizer)
        if name == "gen":
            return gen
        coarse: Pruner = EmbedPruner(encoder) if cfg.coarse == "embed" else BM25Pruner()
        return TwoStepPruner(coarse, gen, cfg.coarse_factor, cfg.fine_max_words)
    raise ConfigError(f"unknown pruner {name!r}", "one of bm25, embed, gen, two-step")


# ----------------------------------------------------------------------------------- selection

def select_blocks(root: Node, blocks: Sequence[Block], scores: np.ndarray, budget: int,
                  counter: TokenCounter, min_score: float | None = None,
                  max_exact_checks: int = 32) -> tuple[list[Block], str, int]:
    """Best-scoring blocks whose rendering fits ``budget`` tokens.

    Blocks scoring ``<= min_score`` are never kept. Where only the (over-estimated) cost of new
    ancestor tags breaks the budget, the real output is counted (at most ``max_exact_checks``
    times). Returns (kept blocks in document order, rendered HTML, exact token count <= budget).
    """
    if len(scores) != len(blocks):
        raise ValueError(f"{len(scores)} scores for {len(blocks)} blocks")
    if budget <= 0 or not blocks:
        return [], "", 0
    costs = counter.count_many([b.html for b in blocks])
    overhead: dict[int, int] = {}

    def tag_cost(node: Node) -> int:
        if id(node) not in overhead:
            overhead[id(node)] = counter.count(_start(node) + f"</{node.tag}>")
        return overhead[id(node)]

    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    headers = table_header_blocks(blocks)  # a kept table cell brings its header row
    opened: set[int] = set()
    chosen: list[int] = []
    in_chosen: set[int] = set()
    used = 0
    exact_checks = 0
    for i in checked(map(int, order), "block selection", 256):
        if min_score is not None and scores[i] <= min_score:
            break  # sorted: all the rest score lower
        if i in in_chosen:
            continue
        with_head = [j for j in headers.get(i, ()) if j not in in_chosen]
        for group in ([*with_head, i], [i]) if with_head else ([i],):
            new_anc = {id(a): a for j in group for a in blocks[j].ancestors()
                       if id(a) not in opened}
            own = sum(costs[j] for j in group)
            extra = own + sum(tag_cost(a) for a in new_anc.values())
            if (used + extra > budget and used + own <= budget
                    and exact_checks < max_exact_checks):
                exact_checks += 1  # tags often merge into words: measure the real output
                n = counter.count(render(root, [blocks[j] for j in sorted([*chosen, *group])]))
                if n <= budget:
                    extra = n - used
            if used + extra <= budget:  # does not fit: skip it, try the next (no early break)
                chosen.extend(group[::-1])  # the block first: dropped last of its group
                in_chosen.update(group)
                used += extra
                opened.update(new_anc)
                break
    # exact check on the real output; drop the lowest-scored until it fits
    while chosen:
        checkpoint("block selection")  # each round renders and counts the whole output
        kept = sorted(chosen)
        html = render(root, [blocks[i] for i in kept])
        n = counter.count(html)
        if n <= budget:
            return [blocks[i] for i in kept], html, n
        excess, dropped = n - budget, 0
        while chosen and dropped < excess:
            dropped += max(costs[chosen.pop()], 1)
    return [], "", 0


def _check(query: str, budget: int) -> None:
    if not query or not query.strip():
        raise InputError("query is empty", "pass the question the context should answer")
    if budget < 0:
        raise ConfigError(f"budget must be >= 0, got {budget}")


def _with_prior(scores: np.ndarray, root: Node, blocks: Sequence[Block],
                cfg: BoilerplateConfig, links: dict[int, int]) -> np.ndarray:
    if cfg.weight <= 0 or not len(blocks):
        return np.asarray(scores, dtype=np.float64)
    return demote(scores, block_priors(root, blocks, cfg, links), cfg.weight)


def prune_tree(tree: BlockTree, query: str, budget: int, pruner: Pruner,
               counter: TokenCounter, max_words: int | None = None,
               boilerplate: BoilerplateConfig | None = None) -> PruneResult:
    """Prune an already built block tree (see :func:`prune_html`). Scores are multiplied by the
    boilerplate prior of :mod:`retrieval.boilerplate` (``boilerplate``; default on)."""
    _check(query, budget)
    bcfg = boilerplate or BoilerplateConfig()
    blocks: list[Block] = tree.blocks
    if max_words is not None and max_words < tree.max_words:
        blocks = tree.refine(blocks, max_words)
    if budget == 0 or not blocks:
        return PruneResult(html="", kept_paths=[], tokens=0, budget=budget,
                           blocks_total=len(blocks))
    # words inside links per node, walked once for both steps of a two-step pruner
    links = link_word_counts(tree.root) if bcfg.weight > 0 else {}
    if isinstance(pruner, TwoStepPruner):
        coarse_scores = _with_prior(pruner.coarse.score(query, blocks, ""), tree.root, blocks,
                                    bcfg, links)
        coarse_budget = int(budget * pruner.factor)
        coarse_kept, coarse_html, _ = select_blocks(
            tree.root, blocks, coarse_scores, coarse_budget, counter,
            getattr(pruner.coarse, "min_score", None))
        coarse_words = min(max_words or tree.max_words, tree.max_words)
        # fine blocks: at most half the coarse size (HtmlRAG: 256 -> 128 words)
        blocks = tree.refine(coarse_kept, min(pruner.fine_max_words, max(1, coarse_words // 2)))
        scores = pruner.fine.score(query, blocks, coarse_html)
    else:
        context = serialize(tree.root) if isinstance(pruner, GenPruner) else ""
        scores = pruner.score(query, blocks, context)
    scores = _with_prior(scores, tree.root, blocks, bcfg, links)
    kept, html, n = select_blocks(tree.root, blocks, scores, budget, counter,
                                  getattr(pruner, "min_score", None))
    index = {id(b): i for i, b in enumerate(blocks)}
    return PruneResult(html=html, kept_paths=[b.path for b in kept], tokens=n, budget=budget,
                       blocks_total=len(blocks), source_paths=[b.source_path for b in kept],
                       scores=[float(scores[index[id(b)]]) for b in kept])


def prune_html(html: str | bytes, query: str, budget: int, pruner: str | Pruner | None = None, *,
               model: str | Path | None = None, encoder: str | Path | None = None,
               tokenizer: str | Path | Any | None = None,
               config: PruneConfig | None = None) -> PruneResult:
    """Clean ``html``, split it into blocks and keep the blocks most relevant to ``query`` whose
    rendering fits ``budget`` tokens (``tokenizer``: None = whitespace words, or a tokenizer
    folder/object). ``pruner``: a name (default ``config.pruner``) or a :class:`Pruner` instance
    (reuse one to keep models loaded). An empty page gives an empty result; an empty query is an
    :class:`InputError`.
    """
    cfg = config or PruneConfig()
    _check(query, budget)
    counter = make_counter(tokenizer)
    name = cfg.pruner if pruner is None else pruner
    p = make_pruner(name, model, encoder, tokenizer=None, config=cfg) if isinstance(
        name, str) else name
    tree = build_block_tree(html, cfg.max_words, CleanConfig(keep_href=cfg.keep_href))
    if tree is None:
        return PruneResult(html="", kept_paths=[], tokens=0, budget=budget)
    # blocks at most half the budget, so a single block can never crowd out the rest
    return prune_tree(tree, query, budget, p, counter,
                      max_words=block_words_for_budget(tree, budget, counter),
                      boilerplate=cfg.boilerplate)


def tokens_per_word(tree: BlockTree, counter: TokenCounter, sample: int = 64) -> float:
    """Tokens of the rendered HTML (markup included) per word of text, over at most ``sample``
    blocks spread over the page; at least 1."""
    blocks = tree.blocks
    if not blocks:
        return 1.0
    step = max(1, len(blocks) // sample)
    picked = blocks[::step][:sample]
    words = sum(b.words for b in picked)
    tokens = sum(counter.count_many([b.html for b in picked]))
    return max(1.0, tokens / max(words, 1))


def block_words_for_budget(tree: BlockTree, budget: int, counter: TokenCounter) -> int:
    """Block size (words) so that one block costs at most about half the budget in the
    counter's tokens. With a subword tokenizer, HTML costs 1.5-3 tokens per word of text: blocks
    of ``budget // 2`` WORDS were often bigger than the whole budget and could never be kept
    (on real pages at 256 MiniLM tokens the answer block was skipped and the output held only
    the page title)."""
    return max(1, int(budget / 2 / tokens_per_word(tree, counter)))
