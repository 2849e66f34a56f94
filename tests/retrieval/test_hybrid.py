"""Word budgets counted on the output's text, continuation fill, hybrid (RRF) ranking, auto's
language fallback, and the language guess behind it."""

from __future__ import annotations

import numpy as np
import pytest

from prunestack.errors import ConfigError
from prunestack.retrieval.blocktree import build_block_tree
from prunestack.retrieval.budget import HFTokenCounter, WordCounter, html_text
from prunestack.retrieval.lang import guess_language, is_english
from prunestack.retrieval.prune import (
    AutoPruner,
    BM25Pruner,
    HybridPruner,
    PruneConfig,
    make_pruner,
    prune_html,
    prune_tree,
)

# ------------------------------------------------------------------------------ word budget


@pytest.mark.parametrize(("html", "words", "text"), [
    ("<li><a>Home</a></li><li><a>News</a></li>", 2, "Home News"),
    ("<ul><li><a>Home</a></li><li><a>News</a></li><li>Sport</li></ul>", 3, "Home News Sport"),
    ("<p>See <a>this</a>.</p>", 2, "See this."),  # inline tags join what they touch
    ("<td>Weight</td><td>1.6 kg</td>", 3, "Weight 1.6 kg"),
    ("<b>foo</b>bar<br>baz", 2, "foobar baz"),
    ("<p>fish &amp; chips&nbsp;today</p>", 4, "fish & chips today"),
    ('<a href="/x y z">link</a>', 1, "link"),  # attributes count nothing
    ("<p>&lt;b&gt; is a tag</p>", 4, "<b> is a tag"),  # escaped markup is text
    ("plain text, no tags", 4, "plain text, no tags"),
    ("", 0, ""),
])
def test_word_counter_counts_the_text_a_reader_sees(html, words, text):
    assert WordCounter().count(html) == words
    assert html_text(html) == text
    assert WordCounter().count_many([html, html]) == [words, words]


def test_glued_menu_never_exceeds_a_word_budget():
    # 60 menu items without whitespace between them: the HTML string has ~1 whitespace token,
    # the text 60 words. The old count let the whole menu into a 10-word budget.
    menu = "".join(f"<li><a>Item{i}</a></li>" for i in range(60))
    page = f"<html><body><ul>{menu}</ul></body></html>"
    assert len(build_block_tree(page).root.text().split()) == 1  # no whitespace at all
    for budget in (1, 5, 10, 33, 59, 60, 100):
        r = prune_html(page, "Item1 Item2 Item30", budget, "bm25")
        words = len(html_text(r.html).split())
        assert r.tokens == words <= budget, budget
    r = prune_html(page, "Item7", 10, "bm25")
    assert "Item7" in html_text(r.html).split()


def test_hf_token_counter_still_counts_markup(mistral_tokenizer):
    counter = HFTokenCounter(mistral_tokenizer)
    page = ("<html><body>" + "".join(f"<p>Paragraph {i} about ferries and harbours.</p>"
                                     for i in range(40)) + "</body></html>")
    r = prune_html(page, "ferries paragraph 7", 60, "bm25", tokenizer=counter)
    assert r.html and r.tokens == counter.count(r.html) <= 60
    assert counter.count(r.html) > WordCounter().count(r.html)  # tags cost tokens there


# --------------------------------------------------------------------------- continuation fill

SPLIT = ("<html><body><main><p>Intro words about the town council and its plans.</p>"
         "<p>The lighthouse keeper counted ninety one seagulls on the pier</p>"
         "<p>before the storm arrived from the northern sea.</p>"
         "<p>Unrelated closing remarks about weather in general terms.</p></main>"
         "<footer><p>Copyright notice and contact address for the editors.</p></footer>"
         "</body></html>")


def test_leftover_budget_keeps_the_continuation_of_a_kept_block():
    query = "lighthouse keeper counted seagulls"
    on = prune_html(SPLIT, query, 20, "bm25")
    off = prune_html(SPLIT, query, 20, "bm25", config=PruneConfig(fill=False))
    # the second half of the sentence shares no query word: BM25 scores it 0
    assert "before the storm arrived" not in off.html and off.filled == 0
    assert "before the storm arrived from the northern sea." in on.html
    assert on.filled == 1 and on.tokens <= 20
    assert on.tokens == len(html_text(on.html).split())


def test_fill_goes_on_while_the_budget_lasts_and_skips_boilerplate():
    query = "lighthouse keeper counted seagulls"
    r = prune_html(SPLIT, query, 40, "bm25")  # the footer (9 words) would fit too
    assert "Unrelated closing remarks" in r.html  # a second continuation step
    assert "Copyright" not in r.html  # the footer is boilerplate: never added as a continuation
    assert "Intro words" not in r.html  # continuations go forward only
    assert r.filled == 2 and r.tokens <= 40


def test_fill_stops_at_the_budget():
    tree = build_block_tree(SPLIT, 256)
    counter = WordCounter()
    for budget in range(1, 40):
        r = prune_tree(tree, "lighthouse keeper counted seagulls", budget, BM25Pruner(), counter,
                       max_words=max(1, budget // 2))
        assert r.tokens == counter.count(r.html) <= budget


# ------------------------------------------------------------------------------ hybrid ranking


class FixedScores:
    """An embedding-side pruner with given scores (to check the fusion arithmetic exactly)."""

    name = "embed"

    def __init__(self, scores: list[float]) -> None:
        self.scores = np.array(scores)

    def score(self, query, blocks, context_html=""):
        return self.scores


def test_rrf_fusion_arithmetic():
    page = ("<html><body><p>alpha beta</p><p>alpha</p><p>gamma delta</p><p>epsilon</p>"
            "</body></html>")
    blocks = build_block_tree(page, 2).blocks
    assert [b.text for b in blocks] == ["alpha beta", "alpha", "gamma delta", "epsilon"]
    h = HybridPruner(embed=FixedScores([0.1, 0.2, 0.9, 0.5]), k=10)
    s = h.score("alpha beta", blocks)
    # BM25 ranks: block 0 (both words) 1st, block 1 2nd, blocks 2-3 share no word (no rank)
    # embedding ranks: 2, 3, 1, 0 -> 1st .. 4th; BM25 weighs 2 by default, the embedding 1;
    # continuation (weight 1): block 2 shares no word and follows block 1 (BM25 2nd); block 1
    # follows a match too but has a match of its own; block 3 follows no match
    want = [2 / 11 + 1 / 14, 2 / 12 + 1 / 13, 1 / 11 + 1 / 12, 1 / 12]
    assert h.bm25_weight == 2.0 and h.next_weight == 1.0 and s == pytest.approx(want)
    even = HybridPruner(embed=FixedScores([0.1, 0.2, 0.9, 0.5]), k=10, bm25_weight=1.0,
                        next_weight=0.0)
    assert even.score("alpha beta", blocks) == pytest.approx(
        [1 / 11 + 1 / 14, 1 / 12 + 1 / 13, 1 / 11, 1 / 12])
    assert list(np.argsort(-s)) == [0, 1, 2, 3]
    w = HybridPruner(embed=FixedScores([0.1, 0.2, 0.9, 0.5]), k=10, bm25_weight=0.0,
                     next_weight=0.0)
    assert list(np.argsort(-w.score("alpha beta", blocks))) == [2, 3, 1, 0]
    with pytest.raises(ConfigError, match="k must be > 0"):
        HybridPruner(embed=FixedScores([]), k=0)


def test_hybrid_keeps_the_continuation_of_a_match_over_embedding_only_blocks():
    # a heading that matches, the list under it (no query word), and blocks the embedding
    # prefers: the list must be kept before them (it was lost on a recipe page)
    page = ("<html><body><h2>Why you will love this banana bread</h2>"
            "<ul><li>One bowl, no mixer needed</li><li>Freezes well</li></ul>"
            "<p>Muffins and cakes for a rainy afternoon at home.</p>"
            "<p>Our cookie policy and the shop opening hours.</p></body></html>")
    tree = build_block_tree(page, 16)
    assert [b.text for b in tree.blocks] == [
        "Why you will love this banana bread", "One bowl, no mixer needed Freezes well",
        "Muffins and cakes for a rainy afternoon at home.",
        "Our cookie policy and the shop opening hours."]
    embed = FixedScores([0.5, 0.1, 0.9, 0.8])
    counter = WordCounter()
    r = prune_tree(tree, "why love banana bread", 15, HybridPruner(embed=embed), counter)
    assert "One bowl" in html_text(r.html) and "Muffins" not in html_text(r.html)
    off = prune_tree(tree, "why love banana bread", 15,
                     HybridPruner(embed=embed, next_weight=0), counter)
    assert "One bowl" not in html_text(off.html)  # the embedding's pick took the budget


def test_hybrid_embedding_votes_only_on_english_queries():
    page = ("<html><body><p>서울 날씨 정보</p><p>부산 여행 안내</p><p>제주 맛집 목록</p>"
            "</body></html>")
    blocks = build_block_tree(page, 3).blocks
    embed = FixedScores([0.1, 0.2, 0.9])
    s = HybridPruner(embed=embed, k=10).score("서울 날씨", blocks)
    assert s == pytest.approx([2 / 11, 1 / 11, 0.0])  # BM25 and its continuation only
    multi = HybridPruner(embed=embed, k=10, embed_english_only=False).score("서울 날씨", blocks)
    assert multi == pytest.approx([2 / 11 + 1 / 13, 1 / 11 + 1 / 12, 1 / 11])


def test_hybrid_finds_paraphrases_and_exact_terms(embed_pruner):
    page = ("<html><body><p>The ferry service to the island resumes on Monday morning.</p>"
            "<p>Storm damage closed the harbour for a week in March.</p>"
            "<p>Tickets cost 12 euros for adults and 6 euros for children.</p>"
            "<p>The museum shows paintings by local artists.</p></body></html>")
    blocks = build_block_tree(page, 12).blocks
    hybrid = HybridPruner(embed=embed_pruner)
    # no query word in any block: BM25 ranks nothing, the embedding finds the paraphrase
    s = hybrid.score("when will boats sail again", blocks)
    assert not BM25Pruner().score("when will boats sail again", blocks).any()
    assert int(np.argmax(s)) == 0
    # an exact figure: both sides agree
    s = hybrid.score("price for children", blocks)
    assert int(np.argmax(s)) == 2
    r = prune_html(page, "when will boats sail again", 11, hybrid)
    assert "ferry service" in r.html and r.pruner == "hybrid" and r.tokens <= 11


# ----------------------------------------------------------------------------- auto, language

GERMAN = ("<html><body><p>Die Bundesregierung hat am Mittwoch beschlossen, dass der Ausstieg aus "
          "der Kohle früher kommen soll als bisher geplant.</p><p>Der Minister sagte, die "
          "Entscheidung sei für die Region nicht einfach gewesen und werde mit Hilfen "
          "begleitet.</p><p>Die Opposition kritisierte den Plan als zu spät.</p></body></html>")
ENGLISH = ("<html><body><p>The government decided on Wednesday that the exit from coal will "
           "come earlier than planned.</p><p>The minister said the decision was not easy for the "
           "region and that it would be supported with aid.</p></body></html>")


def test_auto_is_hybrid_on_english_and_bm25_elsewhere(embed_pruner):
    auto = AutoPruner(hybrid=HybridPruner(embed=embed_pruner))
    de = prune_html(GERMAN, "Kohle Ausstieg früher", 30, auto)
    assert de.pruner == "bm25" and "Ausstieg aus der Kohle" in de.html
    en = prune_html(ENGLISH, "exit from coal", 30, auto)
    assert en.pruner == "hybrid" and "exit from coal" in en.html
    ru = prune_html("<p>Правительство решило в среду, что выход из угля наступит раньше.</p>",
                    "выход из угля", 20, auto)
    assert ru.pruner == "bm25"
    assert isinstance(make_pruner("auto"), AutoPruner)
    assert isinstance(make_pruner("hybrid"), HybridPruner)


def test_auto_loads_no_encoder_for_a_page_it_prunes_with_bm25():
    auto = AutoPruner(encoder=object())  # an encoder object that cannot encode anything
    r = prune_html(GERMAN, "Kohle Ausstieg", 30, auto)
    assert r.pruner == "bm25" and auto._hybrid is None


@pytest.mark.parametrize(("text", "lang"), [
    ("The minister said that the decision was not easy for the region.", "en"),
    ("Der Minister sagte, die Entscheidung sei für die Region nicht einfach gewesen.", "de"),
    ("Le ministre a dit que la décision n'était pas facile pour la région.", "fr"),
    ("El ministro dijo que la decisión no fue fácil para la región.", "es"),
    ("Министр сказал, что решение было непростым для региона.", "ru"),
    ("장관은 이 결정이 지역에 쉽지 않았다고 말했다.", "ko"),
    ("大臣は、この決定は地域にとって容易ではなかったと述べた。", "ja"),
    ("12 345 678", "unknown"),
    ("", "unknown"),
])
def test_guess_language(text, lang):
    assert guess_language(text) == lang


def test_is_english_on_short_queries():
    assert is_english("Evo Morales supporters killed")  # Latin, no stop words: can't tell
    assert is_english("how do ferries run")
    assert not is_english("Министр сказал")
    assert is_english("Die Entscheidung sei")  # a short query: only its script is judged
    assert not is_english("Die Entscheidung sei für die Region nicht einfach gewesen, sagte der "
                          "Minister am Mittwoch")
    assert is_english("The decision was not easy for the region, the minister said on Wednesday "
                      "in the capital")
