"""Struc-Bench H-scores against hand-computed values."""

from __future__ import annotations

import pytest

from prunestack.eval.strucbench import (
    edit_distance,
    latex_artifacts,
    levenshtein_similarity,
    score_corpus,
    score_html,
    score_latex,
    score_text_table,
    text_table_artifacts,
)


def test_similarities():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance(["a", "b"], ["a", "x", "b"]) == 1
    assert levenshtein_similarity("abc", "abd") == pytest.approx(1 - 1 / 6)
    assert levenshtein_similarity("abc", "") == 0.0
    assert levenshtein_similarity("x" * 10, "y") < 0  # published formula can go negative


GOLD_TABLE = "| Name | Age |\n|---|---|\n| Ann | 30 |\n| Bob | 25 |"


def test_text_table():
    art = text_table_artifacts(GOLD_TABLE)
    assert art == {"num_rows": 3, "num_cols": 2, "column_names": ["Name", "Age"],
                   "data_rows": [["Ann", "30"], ["Bob", "25"]]}
    s = score_text_table("| Name | Age |\n| Ann | 31 |", GOLD_TABLE)
    # data: [Ann, 31] vs [Ann, 30, Bob, 25]: distance 3 → 1 − 3/8; difflib 2·1/6
    assert s["sub_scores"]["data_levenshtein_score"] == pytest.approx(0.625)
    assert s["sub_scores"]["data_difflib_score"] == pytest.approx(1 / 3)
    assert s["content"] == pytest.approx(0.625 + 1 / 3)
    assert s["structure"] == pytest.approx(3.0)  # rows differ (2 vs 3), the rest match
    assert s["structure_norm"] == pytest.approx(0.75)
    same = score_text_table(GOLD_TABLE, GOLD_TABLE)
    assert (same["content"], same["structure"]) == (2.0, 4.0)


def test_html_list():
    gold = "<ul><li>a</li><li>b</li></ul>"
    pred = "<ul><li>a</li></ul>"
    s = score_html(pred, gold)
    sub = s["sub_scores"]
    assert sub["num_cells_match"] == 0.0
    assert sub["cells_text_levenshtein_score"] == pytest.approx(0.75)
    assert sub["cells_text_difflib_score"] == pytest.approx(2 / 3)
    # Flattened (descendants expanded recursively): gold 10 tags, pred 6 tags, pred is a
    # subsequence → distance 4 → 1 − 4/20; difflib matches 6 → 2·6/16.
    assert sub["struct_levenshtein_score"] == pytest.approx(0.8)
    assert sub["struct_difflib_score"] == pytest.approx(0.75)
    assert s["structure"] == pytest.approx(1.55)
    table = "<table><tr><th>A</th></tr><tr><td>1</td></tr></table>"
    perfect = score_html(table, table)
    assert (perfect["content"], perfect["structure"]) == (2.0, 3.0)


GOLD_LATEX = (r"\begin{table}\caption{Scores}\begin{tabular}{|l|c|}\hline Name & Score \\ "
              r"\hline Ann & 3 \\ Bob & \textbf{4} \\ \hline\end{tabular}\end{table}")


def test_latex():
    art = latex_artifacts(GOLD_LATEX)
    assert art["tabular_alignment_string"] == "|l|c|"
    assert art["caption"] == "Scores"
    # As published, macro arguments vanish from cells: \textbf{4} contributes nothing.
    assert art["data_table"] == [["Name", "Score"], ["Ann", "3"], ["Bob"]]
    pred = r"\begin{tabular}{p{2cm}c} Name & Score \\ Ann & 3 \\ Bob & 4 \\ \end{tabular}"
    assert latex_artifacts(pred)["tabular_alignment_string"] == "pc"
    pred = r"\begin{tabular}{lc} Name & Score \\ Ann & 3 \\ Bob & 4 \\ \end{tabular}"
    s = score_latex(pred, GOLD_LATEX)
    sub = s["sub_scores"]
    assert sub["caption_match_score"] == 0.0
    assert sub["data_levenshtein_score"] == pytest.approx(0.9)
    assert sub["data_difflib_score"] == pytest.approx(10 / 11)
    assert sub["alignment_levenshtein_score"] == pytest.approx(0.7)
    assert sub["alignment_difflib_score"] == pytest.approx(4 / 7)
    assert s["structure"] == pytest.approx(0.7 + 4 / 7 + 2)
    assert latex_artifacts("no table here")["num_rows"] == 0


def test_corpus_means_and_errors():
    r = score_corpus([GOLD_TABLE, "garbage"], [GOLD_TABLE, GOLD_TABLE], "text")
    assert r["n"] == 2.0
    assert r["content"] < 2.0 and r["structure"] <= 4.0
    with pytest.raises(ValueError):
        score_corpus(["a"], [], "text")
    with pytest.raises(ValueError):
        score_corpus(["a"], ["b"], "yaml")  # type: ignore[arg-type]
