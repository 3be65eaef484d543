"""The pure parts of the library's retrieval: Korean morphemes with Kiwi, the lexical query's
terms, and reciprocal-rank fusion of the lexical and vector rankings.

**Korean** is indexed and queried as morphemes (``kiwipiepy`` with the model that
``kiwipiepy-model`` ships on PyPI; nothing is downloaded at run time). Particles and endings
never block a match: "테이퍼링은" and "테이퍼링을" are both the noun 테이퍼링 followed by a
particle, and only the noun is kept. The tags kept (Sejong tag set, as Kiwi names them):

- ``NNG``, ``NNP`` — common and proper nouns (훈련, 테이퍼링, 마라톤);
- ``VV``, ``VA`` and their irregular/regular variants (``-I``, ``-R``) — verb and adjective
  stems, kept as their dictionary form (줄여야 → 줄이다, 낮아지면 → 낮다), so that a stem
  never collides with a noun of the same letters (주다 "give" against 주 "week");
- ``XR`` — roots (규칙적 → 규칙);
- ``SL`` — words in Latin letters inside Korean text (HRV, FTP, CTL), lowercased;
- ``SH`` — Chinese characters; ``SN`` — numbers (2, 1.4, 80).

Left out: particles (``J*``), endings (``E*``), suffixes and prefixes (``XS*``, ``XPN``),
auxiliary and copula verbs (``VX``, ``VCP``, ``VCN``: 하다, 되다, 이다 carry no topic), bound
nouns (``NNB``: 것, 수, 번), pronouns and numerals in words (``NP``, ``NR``), adverbs, determiners
and interjections (``MAG``, ``MAJ``, ``MM``, ``IC``), symbols and punctuation (``S*`` other
than the above).

Kiwi splits a few loanwords of the training vocabulary wrongly on its own (인터벌 → 인터 + 벌,
그란폰도 → 그란폰 + the particle 도); ``TRAINING_WORDS`` adds them to its dictionary.

**English** is left to PostgreSQL's ``english`` text-search configuration (the Snowball
stemmer and its stop words) in the service; here only the fusion and the Korean side live.

Kiwi's model takes about 300 MB of memory and one to three seconds to load, so it is loaded on
first use (a Korean document to index or a Korean question) and kept; the start-up load of the
shipped library frees it when it is done (``KoreanAnalyzer.unload``), so an app that has not
been asked a Korean question does not carry it.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Hashable, Iterable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiwipiepy import Kiwi

RRF_K = 60
"""Reciprocal-rank fusion's constant: Cormack, Clarke & Büttcher (2009), "Reciprocal rank
fusion outperforms Condorcet and individual rank learning methods", SIGIR '09, 758–759,
doi:10.1145/1571941.1572114 — k = 60 was fixed in their pilot and held across collections."""

KEPT_TAGS = frozenset({"NNG", "NNP", "XR", "SL", "SH", "SN"})
STEM_TAGS = frozenset({"VV", "VA", "VV-I", "VA-I", "VV-R", "VA-R"})
RULES_VERSION = "1"
"""Changes when the tags, the word list or the token form change: every Korean chunk is then
analysed again at the next start (the analyser's name is stored with each document)."""

# Training words Kiwi's own dictionary lacks or splits (checked against every shipped Korean
# document): loanwords, and Domestique's Korean feature names.
TRAINING_WORDS = (
    "그란폰도",
    "인터벌",
    "테이퍼링",
    "테이퍼",
    "디커플링",
    "브레이크어웨이",
    "센추리",
    "트라이애슬론",
    "아이언맨",
    "브릭",
    "케이던스",
    "젖산역치",
    "역치",
    "과훈련",
    "과부하",
    "오버리칭",
    "웨이트",
    "스쿼트",
    "카보로딩",
    "저나트륨혈증",
    "고산병",
    "시차증",
    "피로골절",
    "아킬레스건",
    "스테이지",
    "증가율",
    "준비도",
    "웰니스",
    "인사이트",
    "오우라",
    "가민",
    "스트라바",
    "롱런",
)

# Stems so common in questions and answers that they carry no topic (하다, 되다 …).
STOP_STEMS = frozenset(
    {
        "하다",
        "되다",
        "있다",
        "같다",
        "어떻다",
        "그렇다",
        "이렇다",
        "저렇다",
        "않다",
        "이다",
        "아니다",
    }
)


class KoreanAnalyzer:
    """Korean text → the morphemes the index keeps (see the module's docstring). Thread-safe:
    one Kiwi per process, loaded on first use, its calls serialised (a question takes well
    under a millisecond)."""

    def __init__(self) -> None:
        self._kiwi: Kiwi | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """What produced the tokens: stored with every document, so that a new Kiwi or new
        rules re-index the library."""
        import kiwipiepy
        import kiwipiepy_model

        return f"kiwi {kiwipiepy.__version__}/{kiwipiepy_model.__version__} rules {RULES_VERSION}"

    def _load(self) -> Kiwi:
        from kiwipiepy import Kiwi

        with warnings.catch_warnings():
            # num_workers=0 (no worker threads) warns that its meaning changed in 0.21.
            warnings.simplefilter("ignore", DeprecationWarning)
            # The multi-word dictionary (WikiData names) would add ~180 MB for nothing here.
            kiwi = Kiwi(num_workers=0, load_multi_dict=False)
        for word in TRAINING_WORDS:
            kiwi.add_user_word(word, "NNP", 0.0)
        return kiwi

    def tokens(self, text: str) -> list[str]:
        """The kept morphemes of ``text`` in order (nouns and roots as written, stems in their
        dictionary form, Latin words lowercased)."""
        if not text.strip():
            return []
        with self._lock:
            if self._kiwi is None:
                self._kiwi = self._load()
            analysed = self._kiwi.tokenize(text)
        out: list[str] = []
        for token in analysed:
            if token.tag in KEPT_TAGS:
                out.append(token.form.lower() if token.tag == "SL" else token.form)
            elif token.tag in STEM_TAGS and token.lemma not in STOP_STEMS:
                out.append(token.lemma)
        return out

    @property
    def loaded(self) -> bool:
        return self._kiwi is not None

    def unload(self) -> None:
        """Free Kiwi's model (about 300 MB); the next Korean text loads it again."""
        with self._lock:
            self._kiwi = None

    def many(self, texts: Iterable[str]) -> list[list[str]]:
        return [self.tokens(text) for text in texts]


@lru_cache(maxsize=1)
def korean_analyzer() -> KoreanAnalyzer:
    """The process's one analyser."""
    return KoreanAnalyzer()


def token_string(tokens: Sequence[str]) -> str:
    """Tokens as the text PostgreSQL's ``simple`` configuration turns into the same lexemes:
    separated by spaces, with characters its parser would split a token at (``-``, ``/``, ``'``)
    replaced, so each morpheme stays one lexeme."""
    return " ".join(t.replace("-", "").replace("/", "").replace("'", "") for t in tokens)


def reciprocal_rank_fusion[K: Hashable](
    rankings: Sequence[Sequence[K]], *, k: int = RRF_K
) -> list[tuple[K, float]]:
    """Fuse rankings (best first) into one: each item scores Σ 1 / (k + rank) over the rankings
    it appears in, rank counted from 1 (Cormack et al. 2009, see ``RRF_K``). Ties keep the
    order of first appearance (the first ranking's order first)."""
    if k < 0:
        raise ValueError("k must not be negative")
    scores: dict[K, float] = {}
    for ranking in rankings:
        seen: set[K] = set()
        for rank, item in enumerate(ranking, start=1):
            if item in seen:  # a ranking lists an item once; a repeat adds nothing
                continue
            seen.add(item)
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    order = {item: index for index, item in enumerate(scores)}
    return sorted(scores.items(), key=lambda pair: (-pair[1], order[pair[0]]))
