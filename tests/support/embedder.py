"""A deterministic test embedder: texts that share words and word pieces get close vectors.

Real embedding models need weights from a hub, which tests here cannot download. This one is
what the fake LLM server's ``/v1/embeddings`` answers and what the retrieval bench uses for its
vectors (see ``../shared/COACH.md``): feature hashing of character n-grams.

A text is NFKC-normalised and lowercased; each word (a run of letters or digits, Hangul
included) contributes itself and its character 2-grams and 3-grams with ``<`` and ``>`` marking
its ends (so ``run`` gives ``<r``, ``ru``, ``un``, ``n>``, ``<ru``, ``run``, ``un>``, and the word
``run``). Each feature is hashed with BLAKE2b (stable across processes, unlike ``hash``) to a
dimension and a sign, counts are added, and the vector is L2-normalised. A text without any
letter or digit gives the zero vector.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Iterable

import numpy as np

DIMENSION = 384
_WORD = re.compile(r"\w+", re.UNICODE)


def features(text: str) -> list[str]:
    """The hashed features of ``text``, in order (words and their n-grams)."""
    out: list[str] = []
    for word in _WORD.findall(unicodedata.normalize("NFKC", text).lower()):
        word = word.replace("_", "")
        if not word:
            continue
        out.append(f"w:{word}")
        marked = f"<{word}>"
        for n in (2, 3):
            out.extend(marked[i : i + n] for i in range(len(marked) - n + 1))
    return out


def _slot(feature: str, dimension: int) -> tuple[int, float]:
    digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % dimension, (1.0 if (value >> 63) & 1 else -1.0)


def embed_text(text: str, dimension: int = DIMENSION) -> list[float]:
    """One unit-length vector (or zeros) of ``dimension`` floats."""
    vector = [0.0] * dimension
    for feature in features(text):
        index, sign = _slot(feature, dimension)
        vector[index] += sign
    norm = math.sqrt(sum(x * x for x in vector))
    return vector if norm == 0 else [x / norm for x in vector]


def embed_texts(texts: Iterable[str], dimension: int = DIMENSION) -> np.ndarray:
    """``(len(texts), dimension)`` float32 rows, as ``embed_text`` gives them."""
    rows = [embed_text(text, dimension) for text in texts]
    return np.asarray(rows, dtype=np.float32).reshape(len(rows), dimension)


def cosine(a: Iterable[float], b: Iterable[float]) -> float:
    x, y = np.asarray(list(a), dtype=float), np.asarray(list(b), dtype=float)
    denominator = float(np.linalg.norm(x) * np.linalg.norm(y))
    return 0.0 if denominator == 0 else float(x @ y) / denominator
