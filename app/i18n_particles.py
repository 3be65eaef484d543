"""Korean particles (조사) that agree with the word before them: 이/가, 은/는, 을/를, 과/와,
(이)랑 and (으)로.

Translators write a particle the way Korean software shows one it cannot choose —
``%(name)s이(가)``, ``을(를)``, ``은(는)``, ``과(와)``, ``(이)랑``, ``(으)로`` (either form may
come first: ``가(이)`` works too). ``app.i18n.gettext``, ``ngettext`` and the templates' ``_()``
call ``resolve`` after the values are put in, so the sentence reads ``HRV가``, ``수면이``,
``Garmin Connect가``, ``7일로``. In Python, ``attach("HRV", "이/가")`` gives ``"HRV가"``.

The form follows the sound the word ends with when a Korean reads it aloud:

- **Hangul**: the final consonant (받침) of the last syllable; ㄹ counts as none for (으)로
  (``서울로``, ``집으로``). A lone jamo is read by its name (ㅋ 키읔: a 받침).
- **Numbers** are read whole in Sino-Korean: the last digit — 1 일, 3 삼, 6 육, 7 칠, 8 팔 end in
  a 받침 (1, 7, 8 in ㄹ), 2 이, 4 사, 5 오, 9 구 do not — and a number ending in zeros by its
  largest unit: 십, 백, 천, 만, 억 and 경 end in a 받침, 조 (10¹²) does not (``10이``,
  ``20으로``). A decimal is read digit by digit after the point (``0.5가``, ``2.50이``: 영).
- **Units** after a number are read in Korean: ``5 km`` 킬로미터 → ``5 km가``, ``70 kg`` 킬로그램
  → ``70 kg이``, ``2 h`` 시간, ``%`` 퍼센트, ``bpm`` 비피엠 (table ``UNITS``).
- **Latin letters**: an upper-case ending (an acronym such as HRV, TSB, CTL, eFTP, rMSSD) is read
  letter by letter, so only L 엘, M 엠, N 엔 and R 알 end in a 받침 (``HRV가``, ``CTL이``,
  ``ACWR로``). A lower-case ending is an English word read as one (``Garmin`` 가민,
  ``Strava`` 스트라바, ``VO2max`` …맥스): m, n, ng, and a silent e after them, end in a 받침 (ㅁ,
  ㄴ, ㅇ); l and le in ㄹ; p, t, k and ck after a single short vowel too (``zip`` 집, ``fit``
  핏, ``vdot`` …닷), as the loanword rules write them; everything else is followed by a vowel
  (``Connect`` 커넥트, ``Stryd`` 스트라이드, ``power`` 파워, ``Health`` 헬스). A single letter is
  read by its name.
- **Brackets and quotes** at the end are skipped: the particle agrees with the word before
  them (``체력 (CTL)이``, ``“abc”를``), as Korean writing does.
- Anything else (Hanja, emoji, an empty value) keeps the combined form, ``이(가)``: never wrong,
  only less smooth.

The libraries on PyPI for this are old (tossi, last released in 2018, writes both forms after
a Latin word) or young 0.x releases, and none documents unit symbols or escaped HTML; so it is
written here, small, and tested on every name the pages put into a sentence.
"""

from __future__ import annotations

import html
import re
from enum import Enum


class Ending(Enum):
    """How a word ends when read aloud: what the particle agrees with."""

    VOWEL = "vowel"  # no 받침: 가, 는, 를, 와, 랑, 로
    RIEUL = "rieul"  # ㄹ 받침: 이, 은, 을, 과, 이랑 — but 로
    CONSONANT = "consonant"  # any other 받침: 이, 은, 을, 과, 이랑, 으로


V, L, C = Ending.VOWEL, Ending.RIEUL, Ending.CONSONANT

# (form after a 받침, form after a vowel); (으)로 is special-cased for ㄹ.
PAIRS: dict[str, tuple[str, str]] = {
    "이/가": ("이", "가"),
    "은/는": ("은", "는"),
    "을/를": ("을", "를"),
    "과/와": ("과", "와"),
    "이랑/랑": ("이랑", "랑"),
    "으로/로": ("으로", "로"),
}
_ALIASES = {
    **{pair: pair for pair in PAIRS},
    **{f"{b}/{a}": f"{a}/{b}" for a, b in (pair.split("/") for pair in PAIRS)},
}

SINO_DIGITS: dict[str, Ending] = {
    "0": C,  # 영 (and 십, 백, 천, 만… for a number ending in zeros: see _number_ending)
    "1": L,  # 일
    "2": V,  # 이
    "3": C,  # 삼
    "4": V,  # 사
    "5": V,  # 오
    "6": C,  # 육
    "7": L,  # 칠
    "8": L,  # 팔
    "9": V,  # 구
}
# Trailing zeros of a whole number → the unit it ends with when read: 10 십, 100 백, 1000 천,
# 10⁴ 만, 10⁸ 억, 10¹² 조, 10¹⁶ 경 (십만, 백만, 천만 end in the 만 of their group).
_ZERO_UNITS: tuple[tuple[int, Ending], ...] = (
    (16, C), (12, V), (8, C), (4, C), (3, C), (2, C), (1, C)
)  # fmt: skip

# Letter names as read in Korean: 에이, 비, 씨, 디, 이, 에프, 지, 에이치, 아이, 제이, 케이, 엘, 엠,
# 엔, 오, 피, 큐, 알, 에스, 티, 유, 브이, 더블유, 엑스, 와이, 제트.
LETTER_NAMES: dict[str, Ending] = {letter: V for letter in "abcdefghijkopqstuvwxyz"}
LETTER_NAMES.update({"l": L, "m": C, "n": C, "r": L})

# Unit symbols after a number, by their Korean reading.
UNITS: dict[str, Ending] = {
    "km": V,  # 킬로미터
    "m": V,  # 미터
    "cm": V,  # 센티미터
    "mi": L,  # 마일
    "ft": V,  # 피트
    "kg": C,  # 킬로그램
    "g": C,  # 그램
    "lb": V,  # 파운드
    "%": V,  # 퍼센트
    "bpm": C,  # 비피엠
    "rpm": C,  # 알피엠
    "spm": C,  # 에스피엠
    "ms": V,  # 밀리초
    "s": V,  # 초
    "min": C,  # 분
    "h": C,  # 시간
    "w": V,  # 와트
    "kj": L,  # 킬로줄
    "kcal": V,  # 킬로칼로리
    "km/h": V,  # (시속) … 킬로미터
    "mph": L,  # (시속) … 마일
    "/km": V,  # (킬로미터당) … 초
    "/mi": V,  # (마일당) … 초
    "/min": V,  # (분당) … 회
    "kb": V,  # 킬로바이트
    "mb": V,  # 메가바이트
    "mib": V,  # 메비바이트
    "gb": V,  # 기가바이트
    "°c": V,  # 도
}
# English words whose reading the letter rules miss.
WORDS: dict[str, Ending] = {
    "csv": V,  # 씨에스브이 (lower-case file extensions are read letter by letter)
    "gpx": V,
    "tcx": V,
    "xml": L,  # 엑스엠엘
    "fit": C,  # 핏
    "zip": C,  # 집
    "vdot": C,  # 브이닷
    "gz": V,  # 지지
    "pdf": V,
    "url": L,  # 유알엘
    "api": V,
    "id": V,  # 아이디
    "ok": V,  # 오케이
}

_CLOSERS = dict(zip(")]}）〉》」』", "([{（〈《「『", strict=True))
_OPENERS = set(_CLOSERS.values())
_QUOTES = "\"'”’“‘»«"
_TRAILING_PUNCTUATION = ".,;:!?…·"
_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉⁰¹²³⁴⁵⁶⁷⁸⁹", "01234567890123456789")
_NUMBER = re.compile(r"(\d[\d,]*)(?:\.(\d+))?$")
_UNIT = re.compile(r"(\d)\s?(°C|km/h|/km|/mi|/min|[A-Za-z%]+)$")
_KOREAN_DATE = re.compile(r"\d{4}\. \d{1,2}\. \d{1,2}$")  # Babel's ko date, its "." stripped
_WORD = re.compile(r"[A-Za-z]+$")
_TAG_OR_ENTITY = re.compile(r"<[^<>]*>$|&[#\w]+;$")


def ending(text: str) -> Ending | None:
    """How ``text`` ends when read aloud in Korean; None when that cannot be told."""
    text = _strip(str(text))  # a plain str, also when given Markup
    if not text:
        return None
    last = text[-1]
    if "가" <= last <= "힣":
        final = (ord(last) - ord("가")) % 28
        return V if final == 0 else L if final == 8 else C
    if "ㄱ" <= last <= "ㅎ":  # a lone consonant is read by its name: 기역, 니은, 리을…
        return L if last == "ㄹ" else C
    if "ㅏ" <= last <= "ㅣ":
        return V
    if _KOREAN_DATE.search(text):
        return L  # 2026. 3. 6. is read 2026년 3월 6일
    unit = _UNIT.search(text)
    if unit and unit.group(2).lower() in UNITS:
        return UNITS[unit.group(2).lower()]
    if last.isdigit():
        return _number_ending(text)
    if last == "%":
        return V  # 퍼센트
    if last == "′":
        return C  # 프라임 (W′)
    word = _WORD.search(text)
    if word:
        return _latin_ending(word.group(0))
    return None


def _strip(text: str) -> str:
    """``text`` without what a reader skips at its end: spaces, quotes, closing brackets with
    what they hold, sentence punctuation, and markup (tags, entities read as their character)."""
    text = text.translate(_SUBSCRIPTS)
    while True:
        before = text
        text = text.rstrip()
        markup = _TAG_OR_ENTITY.search(text)
        if markup:
            piece = markup.group(0)
            text = text[: markup.start()] + ("" if piece.startswith("<") else html.unescape(piece))
        elif text and text[-1] in _QUOTES + _TRAILING_PUNCTUATION:
            text = text[:-1]
        elif text and text[-1] in _CLOSERS:
            opening = _opening(text)
            # brackets around the whole text are the word itself: "(주)" is read
            text = text[:opening] if opening > 0 else text[opening + 1 : -1]
        if text == before:
            return text


def _opening(text: str) -> int:
    """Where the bracket that closes ``text`` opens (-1 when it never does)."""
    depth = 0
    for index in range(len(text) - 1, -1, -1):
        char = text[index]
        if char in _CLOSERS:
            depth += 1
        elif char in _OPENERS:
            depth -= 1
            if depth == 0:
                return index
    return -1


def _number_ending(text: str) -> Ending | None:
    """A number read whole in Sino-Korean: 21 이십일, 300 삼백, 2.50 이 점 오 영."""
    number = _NUMBER.search(text)
    if number is None:
        return None
    whole, fraction = number.group(1).replace(",", ""), number.group(2)
    if fraction:
        return SINO_DIGITS[fraction[-1]]
    zeros = len(whole) - len(whole.rstrip("0"))
    if zeros == 0 or zeros == len(whole):  # a last digit other than 0, or 0 itself (영)
        return SINO_DIGITS[whole[-1]]
    return next(unit for at_least, unit in _ZERO_UNITS if zeros >= at_least)


def _latin_ending(word: str) -> Ending:
    lower = word.lower()
    if lower in WORDS:
        return WORDS[lower]
    if word[-1].isupper():  # an acronym, or one that ends one: HRV, eFTP, rMSSD
        return LETTER_NAMES[lower[-1]]
    tail = re.search(r"[a-z]+$", word)
    run = tail.group(0) if tail else lower
    if len(run) == 1:  # a lone letter, or one after capitals (dB): read by its name
        return LETTER_NAMES[run]
    if run.endswith(("m", "n", "ng", "me", "ne")):
        return C
    if run.endswith(("l", "le")):
        return L
    if re.search(r"(?:^|[^aeiou])[aeiou](?:[ptk]|ck|pp|tt)$", run) or run.endswith("out"):
        return C  # 집, 핏, 팩, 앱, 아웃
    return V


def particle(word: str, pair: str) -> str:
    """The form of ``pair`` (``"이/가"``, ``"가/이"``, ``"은/는"``…) that follows ``word``; both
    forms (``"이(가)"``) when the ending cannot be told."""
    key = _ALIASES.get(pair)
    if key is None:
        raise ValueError(f"unknown particle pair {pair!r}; use one of {', '.join(PAIRS)}")
    after_consonant, after_vowel = PAIRS[key]
    sound = ending(word)
    if sound is None:
        if key == "으로/로":
            return "(으)로"
        if key == "이랑/랑":
            return "(이)랑"
        return f"{after_consonant}({after_vowel})"
    if sound is V or (sound is L and key == "으로/로"):
        return after_vowel
    return after_consonant


def attach(word: str, pair: str) -> str:
    """``word`` followed by the right form of ``pair``: ``attach("HRV", "이/가") == "HRV가"``."""
    return word + particle(word, pair)


# The combined forms translators write, each mapped to its pair.
_MARKERS: dict[str, str] = {
    "이(가)": "이/가",
    "가(이)": "이/가",
    "은(는)": "은/는",
    "는(은)": "은/는",
    "을(를)": "을/를",
    "를(을)": "을/를",
    "과(와)": "과/와",
    "와(과)": "과/와",
    "(이)랑": "이랑/랑",
    "이랑(랑)": "이랑/랑",
    "(으)로": "으로/로",
}
_MARKER = re.compile("|".join(re.escape(marker) for marker in _MARKERS))


def resolve(text: str) -> str:
    """``text`` with every combined particle (``이(가)``, ``을(를)``, ``(으)로``…) replaced by
    the form that agrees with what precedes it. Works on escaped HTML too (tags are skipped,
    entities read as their character), and only ever replaces a marker with Hangul, so
    ``Markup(resolve(markup))`` stays safe."""
    if "(" not in text:
        return text
    text = str(text)  # a plain str: Markup would escape what is added to it
    pieces: list[str] = []
    done = 0
    for found in _MARKER.finditer(text):
        pieces.append(text[done : found.start()])
        pieces.append(particle(text[: found.start()], _MARKERS[found.group(0)]))
        done = found.end()
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)
