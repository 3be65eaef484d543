"""The pure parts of retrieval: Korean morphemes with Kiwi (particles and endings never block a
match) and reciprocal-rank fusion."""

from __future__ import annotations

import pytest

from app.coach.retrieval import (
    RRF_K,
    korean_analyzer,
    reciprocal_rank_fusion,
    token_string,
)


@pytest.fixture(scope="module")
def tokens():
    return korean_analyzer().tokens


def test_particles_do_not_change_the_noun(tokens):
    assert tokens("테이퍼링은") == tokens("테이퍼링을") == tokens("테이퍼링") == ["테이퍼링"]
    assert tokens("인터벌에서") == ["인터벌"]  # a training word Kiwi alone splits (인터 + 벌)


def test_verb_endings_reduce_to_the_dictionary_form(tokens):
    # 줄여야 / 줄이면 / 줄였다: one stem
    assert "줄이다" in tokens("훈련을 줄여야 하나요")
    assert "줄이다" in tokens("훈련량을 줄이면 좋습니다")
    assert tokens("강도를 줄였다") == tokens("강도를 줄이면")


def test_particles_endings_and_empty_verbs_are_dropped(tokens):
    kept = tokens("마라톤을 준비하는 것은 어렵지 않다")
    assert "마라톤" in kept and "준비" in kept
    # particles (을, 은), the bound noun 것, the copula and 하다/않다 carry no topic
    assert not {"을", "은", "것", "하다", "않다", "이다"} & set(kept)


def test_latin_words_and_numbers_are_kept(tokens):
    assert tokens("ACWR이 1.4 나오는데") == ["acwr", "1.4", "나오다"]


def test_token_string_keeps_each_token_one_lexeme():
    assert token_string(["vo2-max", "a/b", "it's"]) == "vo2max ab its"


def test_fusion_scores_are_reciprocal_ranks_summed():
    fused = dict(reciprocal_rank_fusion([["a", "b", "c"], ["c", "a"]]))
    assert fused["a"] == pytest.approx(1 / (RRF_K + 1) + 1 / (RRF_K + 2))
    assert fused["b"] == pytest.approx(1 / (RRF_K + 2))
    assert fused["c"] == pytest.approx(1 / (RRF_K + 3) + 1 / (RRF_K + 1))


def test_fusion_prefers_agreement_over_one_first_place():
    # "x" is first in one ranking only; "y" second in both: agreement wins (k=60)
    order = [item for item, _ in reciprocal_rank_fusion([["x", "y"], ["z", "y"]])]
    assert order[0] == "y"


def test_fusion_of_one_ranking_keeps_its_order_and_ignores_repeats():
    assert [i for i, _ in reciprocal_rank_fusion([["a", "b", "a", "c"]])] == ["a", "b", "c"]
    assert reciprocal_rank_fusion([]) == []
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([["a"]], k=-1)
