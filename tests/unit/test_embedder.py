"""The deterministic test embedder (tests/support/embedder.py) behaves like an embedder: the same
text gives the same unit vector in every process, and related texts are closer than unrelated
ones, in English and in Korean."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np

from tests.support.embedder import DIMENSION, cosine, embed_text, embed_texts, features


def test_vectors_are_unit_length_and_deterministic():
    vector = embed_text("Tapering before a marathon")
    assert len(vector) == DIMENSION == 384
    assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, rel_tol=1e-12)
    assert embed_text("Tapering before a marathon") == vector
    assert embed_text("TAPERING before a Marathon!") == vector  # case and punctuation
    assert embed_text("", 16) == [0.0] * 16 and embed_text("?!", 16) == [0.0] * 16
    assert len(embed_text("x", 1024)) == 1024


def test_the_same_text_gives_the_same_vector_in_another_process():
    code = "from tests.support.embedder import embed_text; print(repr(embed_text('회복 주간')))"
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert eval(other) == embed_text("회복 주간")  # noqa: S307 (a list of floats we printed)


def test_related_texts_are_closer_than_unrelated_ones():
    cases = [
        (
            "how long should a marathon taper be",
            "The marathon taper: two weeks, volume cut by half",
            "Fuelling with carbohydrate gels during rides",
        ),
        (
            "HRV below baseline means an easy day",
            "When HRV drops below your baseline, train easy",
            "Strength training twice a week for runners",
        ),
        (
            "마라톤 테이퍼는 얼마나 길게 해야 하나요",
            "마라톤 테이퍼: 2주 동안 훈련량을 절반으로 줄인다",
            "장거리 라이딩 중 탄수화물 젤 보급",
        ),
        (
            "심박변이도가 기준보다 낮으면 쉬운 날",
            "심박변이도가 기준선 아래로 떨어지면 가볍게 훈련한다",
            "러너를 위한 주 2회 근력 운동",
        ),
    ]
    for query, related, unrelated in cases:
        q = embed_text(query)
        assert cosine(q, embed_text(related)) > cosine(q, embed_text(unrelated)) + 0.1, query


def test_features_are_words_and_their_marked_n_grams():
    assert features("Run") == ["w:run", "<r", "ru", "un", "n>", "<ru", "run", "un>"]
    assert features("회복") == ["w:회복", "<회", "회복", "복>", "<회복", "회복>"]


def test_embed_texts_matches_embed_text_row_by_row():
    texts = ["easy run", "쉬운 달리기", "threshold intervals"]
    matrix = embed_texts(texts)
    assert matrix.shape == (3, DIMENSION) and matrix.dtype == np.float32
    for row, text in zip(matrix, texts, strict=True):
        assert np.allclose(row, embed_text(text), atol=1e-7)
    assert embed_texts([]).shape == (0, DIMENSION)
