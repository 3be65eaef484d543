"""What may stay English in the Korean UI, and a check that finds every other English word in a
Korean text or page (the README's *Translations* section gives the rule)."""

from __future__ import annotations

import json
import re

from lxml import html as lxml_html

# English that stays in the Korean UI, and why. Brand and product names as their owners write
# them in Korea (Garmin's Korean app keeps “Body Battery”); the acronyms Garmin's Korean UI and
# Korean training writing keep (HRV, VO2max, FTP, TSS, CTL/ATL/TSB — each next to its Korean
# name where it is a label); file formats and protocols; unit symbols; statistics (r, n, q);
# the people a formula is named after; the language switch's own “English”.
ALLOWED = {
    # brands and products
    "Domestique", "Garmin", "Connect", "Strava", "Oura", "Apple", "Body", "Battery", "Wahoo",
    "Coros", "Hammerhead", "USB",
    "TrainingPeaks", "GoldenCheetah", "TimescaleDB", "NAS", "README", "English", "OpenAI",
    "Ollama",
    # training and health acronyms
    "HRV", "CTL", "ATL", "TSB", "FTP", "eFTP", "TSS", "rTSS", "HRSS", "TRIMP", "VDOT",
    "VO2max", "VO₂max", "NP", "NGP", "IF", "VI", "EF", "SpO2", "SpO₂", "rMSSD", "SDNN",
    # formats, protocols and sizes
    "FIT", "ZIP", "GPX", "TCX", "XML", "JSON", "CSV", "API", "ID", "URI", "URL", "UTC", "AI",
    "IP", "KB", "KiB", "MB", "MiB", "GPS", "SHA", "PDF", "UTF",
    # unit symbols
    "km", "m", "mi", "ft", "kg", "lb", "bpm", "rpm", "spm", "ms", "W", "kJ", "kcal", "min",
    # statistics, and the people formulas are named after
    "r", "n", "q", "Friel", "Karvonen", "Riegel", "Minetti",
}  # fmt: skip
ZONE = re.compile(r"Z\d[a-c]?$")  # heart-rate zones Z1 … Z5c, as Friel names them
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9₀-₉]*")
IDENTIFIER = re.compile(r"\S*\w[./@:]\w\S*")  # file names, URLs, paths, units such as m/min
SETTING = re.compile(r"DOMESTIQUE_[A-Z_]+")  # an environment variable the owner sets
CODE = re.compile(r"`[^`]*`")  # commands, shown as code
QUOTED_LABEL = re.compile(r"“[A-Za-z][A-Za-z ]*”")  # a label on another service's English page
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%%")
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
READ_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")


def english_words(text: str, allowed: set[str] = ALLOWED) -> set[str]:
    """The English words of ``text`` that are not allowed in the Korean UI."""
    text = PLACEHOLDER.sub(" ", CODE.sub(" ", text))
    text = IDENTIFIER.sub(" ", QUOTED_LABEL.sub(" ", SETTING.sub(" ", text)))
    return {w for w in LATIN_WORD.findall(text) if w not in allowed and not ZONE.match(w)}


def visible_text(page: str) -> list[str]:
    """What a reader sees or hears on ``page``: text, the attributes screen readers read, chart
    labels and units; not code (an address to copy) nor what is marked ``translate="no"`` (a
    device's name)."""
    tree = lxml_html.fromstring(page)
    texts: list[str] = []
    for script in tree.iter("script"):
        if script.get("type") == "application/json":
            spec = json.loads(script.text or "{}")
            texts += [spec.get(key) or "" for key in ("xLabel", "xUnit", "title")]
            texts += [f"{s.get('label', '')} {s.get('unit', '')}" for s in spec.get("series", [])]
    for element in [*tree.iter("script", "style", "code"), *tree.xpath('//*[@translate="no"]')]:
        element.drop_tree()
    texts += list(tree.itertext())
    for element in tree.iter():
        texts += [element.get(name) for name in READ_ATTRIBUTES if element.get(name)]
    return texts
