"""Person names: one written form per name, and its pinyin for homophone matching.

``normalize_name`` folds what clerks vary without meaning to: width (ＡＢ, full-width spaces), traditional
characters one by one (張偉 → 张伟; OpenCC's phrases would turn 沈靜 into 沉静), padding spaces (张  三), stray dots, bracketed remarks (王五（已故）). Transliterated
ethnic-minority names keep one separator, U+00B7 (阿依古丽·买买提), whatever dot or space was typed.

``name_pinyin`` reads the surname with its surname reading (单 shan, 曾 zeng, 解 xie, 仇 qiu, 区 ou, 查 zha,
朴 piao): pypinyin 0.55 has no surname mode (python-pinyin issues #120 and #297 are still open), so the
readings come from ``entity_resolution/data/surnames.tsv``. ``pinyin_key`` drops tones: 张伟 and 张威 share
``zhang wei``, the homophones a pinyin input method or a dictated form produce.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from entity_resolution.standardize._text import has_han, nfkc, to_simplified_chars, unify_interpuncts
from entity_resolution.standardize._vector import Column, _is_series, map_unique

SURNAMES_FILE = Path(__file__).resolve().parent.parent / "data" / "surnames.tsv"

# Values departments put in a name column when they have no name.
NULL_NAMES = frozenset({"", "无", "不详", "未知", "空", "null", "none", "n/a", "na", "-", "--", "/", "\\", "?", "？"})
_BRACKETED = re.compile(r"[(\[【《<][^)\]】》>]*[)\]】》>]")
_SEPARATORS = re.compile(r"[\s·]+")


@lru_cache(maxsize=1)
def surname_readings() -> dict[str, str]:
    """Surname → toneless pinyin syllables, compound surnames included."""
    readings: dict[str, str] = {}
    for line in SURNAMES_FILE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            surname, reading = line.split("\t")
            readings[surname.strip()] = reading.strip()
    return readings


def _join_han_parts(parts: list[str]) -> str:
    # Two or more parts of at least two characters, five or more in all, is a transliterated name whose
    # separator carries meaning (阿依古丽·买买提); anything else is padding or a slip (张 三, 王.小明).
    if len(parts) > 1 and all(len(p) >= 2 for p in parts) and sum(map(len, parts)) >= 5:
        return "·".join(parts)
    return "".join(parts)


def normalize_name(value: object) -> str | None:
    """The name in one written form, or None when the value is not a name (empty, 不详, -)."""
    if value is None:
        return None
    text = nfkc(str(value)).strip()
    if text.lower() in NULL_NAMES:
        return None
    if has_han(text):
        text = to_simplified_chars(_BRACKETED.sub("", text))
        parts = [p for p in _SEPARATORS.split(unify_interpuncts(text)) if p]
        text = _join_han_parts(parts)
    else:
        # Latin-script names: case and spacing vary, the letters do not.
        text = " ".join(unify_interpuncts(text).replace("·", " ").split()).upper()
    return text or None


@lru_cache(maxsize=65536)
def _given_pinyin(given: str, tones: bool) -> tuple[str, ...]:
    from pypinyin import Style, lazy_pinyin  # 0.2 s import, only when pinyin is wanted

    style = Style.TONE3 if tones else Style.NORMAL
    # neutral_tone_with_five keeps one syllable = letters + digit, so tonal keys compare position by position
    return tuple(lazy_pinyin(given, style=style, neutral_tone_with_five=tones, v_to_u=False, errors="default"))


@lru_cache(maxsize=8192)
def _char_pinyin(char: str, tones: bool) -> tuple[str, ...]:
    return _given_pinyin(char, tones)


def _surname_split(name: str) -> tuple[str, str | None]:
    readings = surname_readings()
    if name[:2] in readings:
        return name[2:], readings[name[:2]]
    if name[:1] in readings:
        return name[1:], readings[name[:1]]
    return name[1:], None


@lru_cache(maxsize=4096)
def _surname_tones(surname_chars: str, reading: str) -> tuple[str, ...]:
    """The table is toneless; take the tone pypinyin gives for that reading when it lists it, else 5."""
    from pypinyin import Style, pinyin

    out = []
    for char, syllable in zip(surname_chars, reading.split(), strict=True):
        candidates = pinyin(char, style=Style.TONE3, heteronym=True, neutral_tone_with_five=True)[0]
        tone = next((c[-1] for c in candidates if c[:-1] == syllable), "5")
        out.append(syllable + tone)
    return tuple(out)


def name_pinyin(value: object, *, tones: bool = False) -> str | None:
    """Pinyin syllables separated by spaces, surname read as a surname: 单田芳 → ``shan tian fang``;
    with ``tones=True`` tone numbers follow each syllable (``shan4 tian2 fang1``)."""
    return _pinyin_of(normalize_name(value), tones)


def _pinyin_of(name: str | None, tones: bool) -> str | None:
    """:func:`name_pinyin` of a name already in :func:`normalize_name` form."""
    if name is None:
        return None
    if not has_han(name):
        return re.sub(r"[^a-z ]", "", name.lower()).strip() or None
    syllables: list[str] = []
    for i, part in enumerate(name.split("·")):
        if i == 0 and "·" not in name:
            # The surname is read on its own (its surname reading, else its everyday one), so the given
            # name's cache entry is shared by every surname: 142k distinct names have ~4k given names.
            rest, reading = _surname_split(part)
            surname = part[: len(part) - len(rest)]
            if reading is not None:
                syllables += _surname_tones(surname, reading) if tones else reading.split()
            else:
                syllables += _char_pinyin(surname, tones)
        else:
            rest = part
        if rest:
            syllables += _given_pinyin(rest, tones)
    return " ".join(s.lower() for s in syllables) or None


def pinyin_key(value: object) -> str | None:
    """The toneless pinyin used to find homophones: 张伟, 张威 and 章玮 all give ``zhang wei``."""
    return name_pinyin(value, tones=False)


# ---- column forms -----------------------------------------------------------------------------------------

def normalize_names(values: Column) -> Column:
    """:func:`normalize_name` over a column (pyarrow array, pandas Series or list)."""
    return map_unique(values, normalize_name, "string")


def pinyin_keys(values: Column) -> Column:
    """:func:`pinyin_key` over a column."""
    return map_unique(values, pinyin_key, "string")


def name_pinyins(values: Column, *, tones: bool = False) -> Column:
    return map_unique(values, lambda v: name_pinyin(v, tones=tones), "string")


def names_and_pinyin_keys(values: Column) -> tuple[Column, Column]:
    """``(normalize_names(values), pinyin_keys(values))``, normalizing each distinct value once."""
    if not _is_series(values):
        return normalize_names(values), pinyin_keys(values)
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    names = [normalize_name(v) for v in uniques.tolist()]
    keys = [_pinyin_of(name, False) for name in names]

    def series(outputs: list[str | None]) -> pd.Series:
        taken = np.array([*outputs, None], dtype=object)[codes]  # code -1 (a null) takes the trailing None
        return pd.Series(taken, index=values.index, name=values.name, dtype=object)

    return series(names), series(keys)
