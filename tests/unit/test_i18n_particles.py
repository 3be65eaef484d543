"""Korean particles agree with the word before them: each expected form here comes from how a
Korean reads the word aloud (written out in Hangul below), not from the code's rules."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from app import i18n
from app.analytics.correlations import Finding, GroupEffect
from app.i18n_particles import PAIRS, attach, particle, resolve
from app.services.pages import correlations, dashboard
from app.services.wellness import origins, trends
from app.web.templating import templates


def _final(reading: str) -> str:
    """How the Hangul ``reading`` ends: "vowel", "rieul" (ㄹ) or "consonant" (another 받침)."""
    last = reading.rstrip()[-1]
    assert "가" <= last <= "힣", reading
    final = (ord(last) - 0xAC00) % 28
    return "vowel" if final == 0 else "rieul" if final == 8 else "consonant"


def _expected(reading: str, pair: str) -> str:
    after_consonant, after_vowel = pair.split("/")
    sound = _final(reading)
    if sound == "vowel" or (sound == "rieul" and pair == "으로/로"):
        return after_vowel
    return after_consonant


# word → how it is read aloud
READINGS = {
    # Hangul: the last syllable's 받침, ㄹ apart for (으)로
    "수면": "수면", "걸음 수": "걸음 수", "서울": "서울", "집": "집", "바다": "바다",
    # numbers, read whole in Sino-Korean
    "0": "영", "1": "일", "2": "이", "3": "삼", "4": "사", "5": "오", "6": "육", "7": "칠",
    "8": "팔", "9": "구", "10": "십", "20": "이십", "100": "백", "1,000": "천", "10000": "만",
    "100000": "십만", "300000000": "삼억", "1000000000000": "일조", "0.5": "영 점 오",
    "2.50": "이 점 오 영", "21": "이십일", "4:30": "네 시 삼십 분",
    # units after a number
    "5 km": "오 킬로미터", "70 kg": "칠십 킬로그램", "7.5시간": "칠 점 오 시간",
    "20 %": "이십 퍼센트", "60 bpm": "육십 비피엠", "12 ms": "십이 밀리초", "3 mi": "삼 마일",
    "250 W": "이백오십 와트", "2 h": "이 시간",
    # acronyms, letter by letter
    "HRV": "에이치알브이", "TSB": "티에스비", "CTL": "씨티엘", "ATL": "에이티엘",
    "FTP": "에프티피", "eFTP": "이에프티피", "rMSSD": "알엠에스에스디", "SDNN": "에스디엔엔",
    "ACWR": "에이씨더블유알", "NGP": "엔지피", "SpO2": "에스피오투", "SpO₂": "에스피오투",
    "TRIMP": "트림프", "VDOT": "브이닷", "FIT": "핏", "ZIP": "집", "URL": "유알엘",
    # English words, read as words
    "Garmin": "가민", "Garmin Connect": "가민 커넥트", "Strava": "스트라바", "Oura": "오라",
    "Apple Health": "애플 헬스", "Domestique": "도메스티크", "VO2max": "브이오투맥스",
    "VO₂max": "브이오투맥스", "HRmax": "에이치알맥스", "Riegel": "리겔", "Karvonen": "카르보넨",
    "iPhone": "아이폰", "Google": "구글", "power": "파워", "Stryd": "스트라이드",
    "workout": "워크아웃", "app": "앱", "Body Battery": "바디 배터리",
    # file names, tools and addresses
    "activity.fit": "액티비티 닷 핏", "export.zip": "익스포트 닷 집",
    "domestique-20261122-053000.tar": "도메스티크 타르", "track.gpx": "트랙 지피엑스",
    "export.xml": "익스포트 엑스엠엘", "pg_dump": "피지 덤프", "pg_restore": "피지 리스토어",
    "https://www.strava.com/settings/api": "에이피아이",
    # brackets, quotes and markup are skipped
    "체력 (CTL)": "체력", "컨디션 (TSB)": "컨디션", "나뭇가지(만렙)": "나뭇가지",
    "HRV (rMSSD)": "에이치알브이", "“abc”": "에이비씨", "'HRV'": "에이치알브이",
    "(주)": "주", "<b>HRV</b>": "에이치알브이", "R&amp;D": "알앤디", "a (b (c))": "에이",
    "W′": "더블유 프라임", "2026. 3. 6.": "이천이십육 년 삼 월 육 일",
}  # fmt: skip


@pytest.mark.parametrize("pair", PAIRS)
@pytest.mark.parametrize("word", READINGS)
def test_the_particle_follows_the_words_last_sound(word, pair):
    assert particle(word, pair) == _expected(READINGS[word], pair)
    assert attach(word, pair) == word + _expected(READINGS[word], pair)


@pytest.mark.parametrize("word", ["黃金", "🙂", "", "   ", "?"])
def test_a_word_that_cannot_be_read_keeps_both_forms(word):
    assert [particle(word, pair) for pair in PAIRS] == [
        "이(가)", "은(는)", "을(를)", "과(와)", "(이)랑", "(으)로"
    ]  # fmt: skip


def test_either_order_of_a_pair_is_understood_and_others_are_refused():
    assert particle("HRV", "가/이") == particle("HRV", "이/가") == "가"
    assert particle("수면", "로/으로") == "으로"
    with pytest.raises(ValueError, match="unknown particle pair"):
        particle("HRV", "의/에")


def test_resolve_replaces_every_combined_form_in_a_sentence():
    text = (
        "HRV이(가) 오르고 수면가(이) 늘면 CTL을(를) 보세요. Strava은(는) 체중과(와) "
        "Oura와(과) 다릅니다. 서울(으)로, 집(으)로, 2(이)랑 3이랑(랑) 7를(을)"
    )
    assert resolve(text) == (
        "HRV가 오르고 수면이 늘면 CTL을 보세요. Strava는 체중과 Oura와 다릅니다. 서울로, "
        "집으로, 2랑 3이랑 7을"
    )
    assert resolve("괄호(가) 없는 (이) 문장") == "괄호(가) 없는 (이) 문장"  # not markers
    assert resolve("변화 없음") == "변화 없음"
    assert resolve("黃金이(가)") == "黃金이(가)"


# Every name that can be put into a sentence, read aloud: metric names (Insights, Wellness, the
# Dashboard, Settings → Wellness sources), source names, the backup tools an error names.
NAME_READINGS = {
    "수면": "수면", "수면 점수": "수면 점수", "깊은 수면": "깊은 수면", "렘수면": "렘수면",
    "HRV": "에이치알브이", "안정 시 심박수": "안정 시 심박수", "스트레스": "스트레스",
    "Body Battery": "바디 배터리", "Body Battery 최저값": "바디 배터리 최저값",
    "호흡수": "호흡수", "훈련 준비도": "훈련 준비도", "체중": "체중", "걸음 수": "걸음 수",
    "훈련 부하": "훈련 부하", "체력 (CTL)": "체력", "컨디션 (TSB)": "컨디션",
    "달리기 효율 계수": "달리기 효율 계수", "사이클링 효율 계수": "사이클링 효율 계수",
    "유산소 디커플링": "유산소 디커플링", "체지방": "체지방", "VO2max": "브이오투맥스",
    "달리기 VO2max": "달리기 브이오투맥스", "사이클링 VO2max": "사이클링 브이오투맥스",
    "최고": "최고", "최저": "최저", "걸음 수와 칼로리": "걸음 수와 칼로리",
    "혈중 산소와 호흡": "혈중 산소와 호흡", "체중과 체성분": "체중과 체성분",
    "훈련 준비도와 HRV": "훈련 준비도와 에이치알브이",
    "Garmin Connect": "가민 커넥트", "Garmin 내보내기": "가민 내보내기", "Oura": "오라",
    "FIT 파일": "핏 파일", "Strava": "스트라바", "Apple 건강": "애플 건강",
    "pg_dump": "피지 덤프", "pg_restore": "피지 리스토어",
}  # fmt: skip


@contextmanager
def korean():
    token = i18n.current_locale.set("ko")
    try:
        yield
    finally:
        i18n.current_locale.reset(token)


def names_put_into_sentences() -> set[str]:
    from app.config import Settings
    from app.services.sync.adapters import garmin_source, oura_source, strava_source

    settings = Settings(env="development")
    with korean():
        names = {metric.label() for metric in (*correlations.INPUTS, *correlations.OUTCOMES)}
        names |= set(dashboard.wellness_field_labels().values())
        for metric in trends._metrics():
            names |= {metric.title, *(line.label for line in metric.lines)}
        names |= {origins.group_label(group) for group in origins.GROUPS}
        names |= {trends.source_label(code) for code in origins.SOURCE_PRIORITY}
        names |= {make(settings).label for make in (garmin_source, strava_source, oura_source)}
    return names | {"pg_dump", "pg_restore"}  # app.services.backups names them in errors


def test_every_name_a_sentence_is_built_from_is_read_right():
    names = names_put_into_sentences()
    assert names == set(NAME_READINGS), "read the new names aloud and add them here"
    for name in names:
        for pair in PAIRS:
            assert attach(name, pair) == name + _expected(NAME_READINGS[name], pair), (name, pair)


def test_gettext_and_templates_resolve_the_particles_after_filling_in():
    with korean():
        assert i18n.gettext(
            "%(sources)s stopped accepting Domestique's sign-in, so syncing is paused.",
            sources="Garmin Connect, Strava",
        ).startswith("Garmin Connect, Strava가 Domestique의 로그인을")
        assert i18n.gettext("%(file)s was restored.", file="backup.zip") == (
            "backup.zip을 복원했습니다."
        )
        template = templates.env.from_string(
            '{{ _("%(file)s was restored.", file=name) }} '
            '{{ ngettext("%(num)d day after %(input)s of %(threshold)s or more, your '
            '%(outcome)s is %(change)s higher (n = %(pairs)s, %(q)s).", "%(num)d days after '
            "%(input)s of %(threshold)s or more, your %(outcome)s is %(change)s higher (n = "
            '%(pairs)s, %(q)s).", 2, input="HRV", threshold="60 ms", outcome="수면", '
            'change="5 %", pairs=90, q="q = 0.01") }}'
        )
        rendered = template.render(name="<b>a&b.tar")
    assert rendered == (
        "&lt;b&gt;a&amp;b.tar를 복원했습니다. HRV가 60 ms 이상이었던 날로부터 2일 뒤에는 수면이 "
        "5 % 높습니다(n = 90, q = 0.01)."
    )


def test_the_insight_sentence_from_the_issue_reads_right():
    """“최저 바디 배터리이(가) 21 이상인 날에는 훈련 준비도이(가) 20 % 높습니다 (… q = < 0.001)”"""
    effect = GroupEffect("threshold", 21.0, 21.0, 90, 90, 72.0, 60.0, 12.0, 20.0)
    finding = Finding("body_battery_low", "readiness", 0, 0.4, 0.38, 180, 150.0, 1e-5, 0.0004,
                      "positive", effect)  # fmt: skip
    with korean():
        text = correlations.sentence(finding)
    assert text == (
        "Body Battery 최저값이 21 이상인 날에는 훈련 준비도가 20 % 높습니다(n = 180, q < 0.001)."
    )
