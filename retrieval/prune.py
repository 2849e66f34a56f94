"""Prune a cleaned page to a token budget: score blocks, keep the best that fit, render in order.

One interface (:class:`Pruner`: ``score(query, blocks, context_html) -> [n_blocks]``) and these
implementations: BM25, embedding (MiniLM + faiss), hybrid (BM25 ranks, the continuation of BM25
matches and embedding ranks fused by reciprocal rank fusion), generative (any causal LM, see
:mod:`retrieval.generative`) and two-step (coarse BM25/embedding to ``coarse_factor`` × budget,
then generative on finer blocks to the budget — HtmlRAG's pipeline). ``auto`` is hybrid on English
pages and BM25 on others (MiniLM is English-only; :mod:`retrieval.lang` guesses the language from
the page's text and the query).

Selection (:func:`select_blocks`) is greedy by score and, unlike the reference package's
``prune_HTML`` (which stops at the first block that overflows and then deletes the *higher*-ranked
ones it had already counted), skips a block that does not fit and keeps trying lower-ranked smaller
ones. Costs are estimated per block (+ each ancestor tag opened once), then the exact output string
is counted and lowest-scored blocks are dropped until it fits: the budget is never exceeded. Budget
left over is then filled with the *continuation* of kept blocks (the next blocks in document order,
whatever their score, boilerplate excepted): a sentence split across two blocks was lost with 42
words unused when only scored blocks could be kept.
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
from prunestack.retrieval.lang import is_english

PrunerName = Literal["auto", "bm25", "embed", "hybrid", "gen", "two-step"]
PRUNER_NAMES = ("auto", "bm25", "embed", "hybrid", "gen", "two-step")
FILL_MAX_PRIOR = 0.5  # a continuation block whose boilerplate prior reaches this is not added


class PruneConfig(BaseModel):
    """User options for :func:`prune_html`."""

    model_config = ConfigDict(extra="forbid")

    pruner: PrunerName = "bm25"
    max_words: int = Field(default=256, ge=1, description="block size for bm25/embed/coarse step")
    fine_max_words: int = Field(default=128, ge=1, description="block size for the generative step")
    coarse: Literal["bm25", "embed"] = "bm25"
    coarse_factor: float = Field(default=2.0, ge=1.0)
    keep_href: bool = False
    fill: bool = Field(default=True, description="fill budget left over with the continuation "
                       "(next blocks in document order) of kept blocks")
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
    pruner: str | None = Field(default=None, description="the pruner that scored the blocks "
                               "(``auto`` names the one it chose)")
    filled: int = Field(default=0, description="kept blocks added as continuations of others")


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


def _rrf(scores: np.ndarray, k: float, valid: np.ndarray | None = None) -> np.ndarray:
    """Reciprocal-rank contribution ``1 / (k + rank)`` (rank 1 = best) of each entry; entries
    outside ``valid`` get 0. float [n]."""
    n = len(scores)
    out = np.zeros(n, dtype=np.float64)
    idx = np.arange(n) if valid is None else np.flatnonzero(valid)
    if not len(idx):
        return out
    order = idx[np.argsort(-scores[idx], kind="stable")]
    out[order] = 1.0 / (k + np.arange(1, len(order) + 1))
    return out


class HybridPruner:
    """BM25 and embedding ranks fused by reciprocal rank fusion (Cormack et al. 2009):
    ``score = w_bm25 / (k + rank_bm25) + w_embed / (k + rank_embed) + w_next / (k +
    rank_bm25(previous block))``; a block sharing no query term has no BM25 rank (contributes 0
    there) but still ranks by meaning. BM25 keeps exact matches (names, numbers, rare words, any
    language) on top; the embedding adds paraphrases. The third term is the *continuation*: a
    block sharing no query term right after a BM25 match (document order) ranks there as that
    match did, so the rest of a sentence, list or paragraph that a match starts outranks blocks
    only the embedding likes
    (without it, those filled the budget before the continuation fill of :func:`prune_tree`
    could run: a list under a matching heading was lost on a recipe page).

    With ``embed_english_only`` (the default: all-MiniLM-L6-v2 is English-only) the embedding
    votes only on a query that reads as English (:func:`retrieval.lang.is_english`; a short
    query by its script): on a Korean query its ranks were noise that pushed BM25's clear best
    block out of the budget. Pass ``False`` with a multilingual encoder. :class:`AutoPruner`
    goes further and judges the page's text as well."""

    name = "hybrid"

    def __init__(self, encoder: Any = None, k: float = 60.0, bm25_weight: float = 2.0,
                 embed_weight: float = 1.0, bm25: BM25Pruner | None = None,
                 embed: EmbedPruner | None = None, next_weight: float = 1.0,
                 embed_english_only: bool = True) -> None:
        if k <= 0:
            raise ConfigError(f"rank fusion constant k must be > 0, got {k}")
        self.bm25 = bm25 or BM25Pruner()
        self.embed = embed or EmbedPruner(encoder)
        self.k, self.bm25_weight, self.embed_weight = k, bm25_weight, embed_weight
        self.next_weight, self.embed_english_only = next_weight, embed_english_only

    def score(self, query: str, blocks: Sequence[Block], context_html: str = "") -> np.ndarray:
        lexical = self.bm25.score(query, blocks)  # [n]
        ranked = _rrf(lexical, self.k, lexical > 0)  # [n]
        follows = np.zeros_like(ranked)
        follows[1:] = ranked[:-1]  # [n] the previous block's BM25 contribution
        follows[lexical > 0] = 0.0  # a block with a match of its own ranks by it
        out = self.bm25_weight * ranked + self.next_weight * follows
        if self.embed_english_only and not is_english(query):
            return out
        semantic = self.embed.score(query, blocks)  # [n]
        return out + self.embed_weight * _rrf(semantic, self.k)


class AutoPruner:
    """Hybrid on English pages, BM25 elsewhere: the encoder (all-MiniLM-L6-v2) is English-only,
    so on other languages its ranks would only add noise to BM25's. :meth:`choose` decides per
    page from the blocks' text and the query (:func:`retrieval.lang.is_english`)."""

    name = "auto"

    def __init__(self, encoder: Any = None, hybrid: HybridPruner | None = None,
                 bm25: BM25Pruner | None = None, sample_words: int = 3000) -> None:
        self.bm25 = bm25 or BM25Pruner()
        self._hybrid = hybrid
        self._encoder = encoder
        self.sample_words = sample_words

    @property
    def hybrid(self) -> HybridPruner:
        if self._hybrid is None:  # the encoder loads only when an English page needs it
            self._hybrid = HybridPruner(self._encoder, bm25=self.bm25)
        return self._hybrid

    def choose(self, query: str, blocks: Sequence[Block]) -> Pruner:
        words: list[str] = []
        for b in blocks:
            words.extend(b.text.split())
            if len(words) >= self.sample_words:
                break
        english = is_english(" ".join(words)) and is_english(query)
        return self.hybrid if english else self.bm25

    def score(self, query: str, blocks: Sequence[Block], context_html: str = "") -> np.ndarray:
        return self.choose(query, blocks).score(query, blocks, context_html)


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
    if name == "hybrid":
        return HybridPruner(encoder)
    if name == "auto":
        return AutoPruner(encoder)
    if name in ("gen", "two-step"):
        if model is None:
            raise ConfigError(f"pruner {name!r} needs a causal LM", "pass --model DIR")
        gen = GenPruner(model, tokenizer)
        if name == "gen":
            return gen
        coarse: Pruner = EmbedPruner(encoder) if cfg.coarse == "embed" else BM25Pruner()
        return TwoStepPruner(coarse, gen, cfg.coarse_factor, cfg.fine_max_words)
    raise ConfigError(f"unknown pruner {name!r}", f"one of {', '.join(PRUNER_NAMES)}")


# ----------------------------------------------------------------------------------- selection

def select_blocks(root: Node, blocks: Sequence[Block], scores: np.ndarray, budget: int,
                  counter: TokenCounter, min_score: float | None = None,
                  max_exact_checks: int = 32, fill: np.ndarray | bool = True,
                  max_fill_checks: int = 64) -> tuple[list[Block], str, int]:
    """Best-scoring blocks whose rendering fits ``budget`` tokens, then their continuations.

    Blocks scoring ``<= min_score`` are never kept by score. Where only the (over-estimated) cost
    of new ancestor tags breaks the budget, the real output is counted (at most
    ``max_exact_checks`` times). Budget left over is filled by :func:`fill_continuations`
    (``fill``: False = off, True = any block may continue a kept one, a bool mask [n_blocks] =
    only those blocks). Returns (kept blocks in document order, rendered HTML, exact token count
    <= budget).
    """
    kept, html, n = _select(root, blocks, scores, budget, counter, min_score, max_exact_checks)
    if fill is False or not kept or n >= budget:
        return [blocks[i] for i in kept], html, n
    ok = np.ones(len(blocks), dtype=bool) if fill is True else np.asarray(fill, dtype=bool)
    kept, html, n = fill_continuations(root, blocks, scores, kept, html, n, budget, counter, ok,
                                       max_fill_checks)
    return [blocks[i] for i in kept], html, n


def _select(root: Node, blocks: Sequence[Block], scores: np.ndarray, budget: int,
            counter: TokenCounter, min_score: float | None,
            max_exact_checks: int) -> tuple[list[int], str, int]:
    """The greedy pass of :func:`select_blocks`: (kept indices sorted, HTML, exact count)."""
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
            return kept, html, n
        excess, dropped = n - budget, 0
        while chosen and dropped < excess:
            dropped += max(costs[chosen.pop()], 1)
    return [], "", 0


def fill_continuations(root: Node, blocks: Sequence[Block], scores: np.ndarray, kept: list[int],
                       html: str, used: int, budget: int, counter: TokenCounter,
                       allowed: np.ndarray, max_checks: int = 64) -> tuple[list[int], str, int]:
    """Fill budget left over with the blocks that follow kept ones in document order.

    Round by round, each run of kept blocks (best-scored first) gets the next block after it,
    whatever that block's score, when ``allowed[j]`` and the exact output still fits; a run
    whose next block is not allowed or does not fit stops growing. Each addition is checked on
    the real rendered string (at most ``max_checks`` renders). Returns (kept indices sorted,
    HTML, exact count <= budget).
    """
    n_blocks = len(blocks)
    chosen = set(kept)
    costs: dict[int, int] = {}
    dead: set[int] = set()  # run ends that cannot grow
    checks = 0
    while checks < max_checks and used < budget:
        checkpoint("continuation fill")
        ends = [e for best, e in sorted(_runs(chosen, scores), reverse=True) if e not in dead]
        grew = False
        for end in ends:
            j = end + 1
            if j >= n_blocks or not allowed[j]:
                dead.add(end)
                continue
            if j not in costs:
                costs[j] = counter.count(blocks[j].html)
            if used + costs[j] > budget or checks >= max_checks:
                dead.add(end)
                continue
            checks += 1
            trial = sorted(chosen | {j})
            out = render(root, [blocks[i] for i in trial])
            n = counter.count(out)
            if n > budget:
                dead.add(end)
                continue
            chosen.add(j)
            html, used, grew = out, n, True
        if not grew:
            break
    return sorted(chosen), html, used


def _runs(chosen: set[int], scores: np.ndarray) -> list[tuple[float, int]]:
    """(best score, last index) of each run of consecutive kept indices."""
    out: list[tuple[float, int]] = []
    best, prev = -np.inf, None
    for i in sorted(chosen):
        if prev is not None and i != prev + 1:
            out.append((best, prev))
            best = -np.inf
        best, prev = max(best, float(scores[i])), i
    if prev is not None:
        out.append((best, prev))
    return out


def _check(query: str, budget: int) -> None:
    if not query or not query.strip():
        raise InputError("query is empty", "pass the question the context should answer")
    if budget < 0:
        raise ConfigError(f"budget must be >= 0, got {budget}")


def _priors(root: Node, blocks: Sequence[Block], cfg: BoilerplateConfig,
            links: dict[int, int]) -> np.ndarray:
    """Boilerplate prior per block, float [n_blocks] (zeros when the prior is off)."""
    if cfg.weight <= 0 or not len(blocks):
        return np.zeros(len(blocks), dtype=np.float64)
    return block_priors(root, blocks, cfg, links)


def _with_prior(scores: np.ndarray, priors: np.ndarray, cfg: BoilerplateConfig) -> np.ndarray:
    if cfg.weight <= 0 or not len(priors):
        return np.asarray(scores, dtype=np.float64)
    return demote(scores, priors, cfg.weight)


def prune_tree(tree: BlockTree, query: str, budget: int, pruner: Pruner,
               counter: TokenCounter, max_words: int | None = None,
               boilerplate: BoilerplateConfig | None = None, fill: bool = True) -> PruneResult:
    """Prune an already built block tree (see :func:`prune_html`). Scores are multiplied by the
    boilerplate prior of :mod:`retrieval.boilerplate` (``boilerplate``; default on); budget left
    over goes to the continuations of kept blocks (``fill``), except blocks whose prior is
    ``>= FILL_MAX_PRIOR``. An :class:`AutoPruner` picks its pruner here, once per page."""
    _check(query, budget)
    bcfg = boilerplate or BoilerplateConfig()
    blocks: list[Block] = tree.blocks
    if max_words is not None and max_words < tree.max_words:
        blocks = tree.refine(blocks, max_words)
    if budget == 0 or not blocks:
        return PruneResult(html="", kept_paths=[], tokens=0, budget=budget,
                           blocks_total=len(blocks), pruner=pruner.name)
    if isinstance(pruner, AutoPruner):
        pruner = pruner.choose(query, blocks)
    # words inside links per node, walked once for both steps of a two-step pruner
    links = link_word_counts(tree.root) if bcfg.weight > 0 else {}
    if isinstance(pruner, TwoStepPruner):
        priors = _priors(tree.root, blocks, bcfg, links)
        coarse_scores = _with_prior(pruner.coarse.score(query, blocks, ""), priors, bcfg)
        coarse_budget = int(budget * pruner.factor)
        coarse_kept, coarse_html, _ = select_blocks(
            tree.root, blocks, coarse_scores, coarse_budget, counter,
            getattr(pruner.coarse, "min_score", None),
            fill=(priors < FILL_MAX_PRIOR) if fill else False)
        coarse_words = min(max_words or tree.max_words, tree.max_words)
        # fine blocks: at most half the coarse size (HtmlRAG: 256 -> 128 words)
        blocks = tree.refine(coarse_kept, min(pruner.fine_max_words, max(1, coarse_words // 2)))
        scores = pruner.fine.score(query, blocks, coarse_html)
    else:
        context = serialize(tree.root) if isinstance(pruner, GenPruner) else ""
        scores = pruner.score(query, blocks, context)
    priors = _priors(tree.root, blocks, bcfg, links)
    scores = _with_prior(scores, priors, bcfg)
    kept_idx, html, n = _select(tree.root, blocks, scores, budget, counter,
                                getattr(pruner, "min_score", None), 32)
    by_score = len(kept_idx)
    if fill and kept_idx and n < budget:
        kept_idx, html, n = fill_continuations(tree.root, blocks, scores, kept_idx, html, n,
                                               budget, counter, priors < FILL_MAX_PRIOR)
    kept = [blocks[i] for i in kept_idx]
    return PruneResult(html=html, kept_paths=[b.path for b in kept], tokens=n, budget=budget,
                       blocks_total=len(blocks), source_paths=[b.source_path for b in kept],
                       scores=[float(scores[i]) for i in kept_idx], pruner=pruner.name,
                       filled=len(kept_idx) - by_score)


def prune_html(html: str | bytes, query: str, budget: int, pruner: str | Pruner | None = None, *,
               model: str | Path | None = None, encoder: str | Path | None = None,
               tokenizer: str | Path | Any | None = None,
               config: PruneConfig | None = None) -> PruneResult:
    """Clean ``html``, split it into blocks and keep the blocks most relevant to ``query`` whose
    rendering fits ``budget`` tokens (``tokenizer``: None = words of the output's text, see
    :mod:`retrieval.budget`, or a tokenizer folder/object). ``pruner``: a name (default
    ``config.pruner``) or a :class:`Pruner` instance (reuse one to keep models loaded). An
    empty page gives an empty result; an empty query is an :class:`InputError`.
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
                      boilerplate=cfg.boilerplate, fill=cfg.fill)


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
