"""Company names → a matching key.

The same firm is delivered as 深圳市腾讯计算机系统有限公司, 腾讯计算机系统有限公司, 广东省深圳市腾讯计算机系统
有限责任公司 or 腾讯计算机系统（深圳）有限公司. The key folds width, script, spaces and punctuation, drops a
leading province / city / district written with its 省/市/区 and a bracketed place insert, and treats
有限责任公司 and 有限公司 as one legal form. 股份有限公司 stays distinct: a joint-stock company is a different
legal form, and a firm that converts gets a new registration.

A bare place without 市 (深圳航空) is kept: stripping it would give 深圳航空 and 四川航空 the same key.
"""

from __future__ import annotations

import re
from functools import lru_cache

from entity_resolution.standardize._text import nfkc, to_simplified
from entity_resolution.standardize._vector import Column, map_unique
from entity_resolution.standardize.places import CITIES, PROVINCES, SHENZHEN_DISTRICTS, short_name

_BRACKETS = str.maketrans({"【": "(", "】": ")", "[": "(", "]": ")", "〔": "(", "〕": ")", "{": "(", "}": ")"})
_NOISE = re.compile(r"[\s\"'“”‘’`«»<>《》,，.。、;；:：!！?？·・\-_/\\*&＆+]")
_LEGAL_FORMS = ("股份有限公司", "有限公司", "(有限合伙)", "(普通合伙)", "有限合伙", "普通合伙", "集团", "公司")
NULL_NAMES = frozenset({"", "无", "不详", "未知", "个人", "null", "none", "-", "/"})


@lru_cache(maxsize=1)
def _place_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    provinces = sorted({*PROVINCES, *(short_name(p) for p in PROVINCES)}, key=len, reverse=True)
    cities = sorted(set(CITIES), key=len, reverse=True)
    districts = sorted(SHENZHEN_DISTRICTS, key=len, reverse=True)
    city_alt = "|".join(cities)
    # A prefix is a province (full, or short when a city follows), then a city with 市, then a district with 区.
    prefix = re.compile(
        f"^(?:(?:{'|'.join(p for p in provinces if p.endswith(('省', '市', '区')))})"
        f"|(?:{'|'.join(provinces)})(?=(?:{city_alt})))?"
        f"(?:{city_alt})?(?:{'|'.join(districts)})?"
    )
    insert_names = sorted({*provinces, *cities, *(short_name(c) for c in cities), *districts,
                           *(short_name(d) for d in districts), "中国"}, key=len, reverse=True)
    insert = re.compile(f"\\((?:{'|'.join(insert_names)})+\\)")
    return prefix, insert


def normalize_company_name(value: object) -> str | None:
    """Width, script, brackets, spaces and punctuation folded; the words themselves unchanged."""
    if value is None:
        return None
    text = to_simplified(nfkc(str(value)).translate(_BRACKETS)).upper()
    text = _NOISE.sub("", text).replace("()", "")
    return None if text.lower() in NULL_NAMES else text


def company_key(value: object) -> str | None:
    """The matching key: normalized, place prefix and bracketed place removed, 有限责任公司 → 有限公司."""
    text = normalize_company_name(value)
    if text is None:
        return None
    prefix, insert = _place_patterns()
    text = insert.sub("", text)
    stripped = prefix.sub("", text, count=1)
    # Never strip a name down to its legal form alone (深圳市有限公司 is a typo, not an empty name).
    if stripped and stripped not in _LEGAL_FORMS:
        text = stripped
    return text.replace("有限责任公司", "有限公司") or None


def company_core(value: object) -> str | None:
    """The key without its trailing legal form (有限公司, 股份有限公司, 集团 …), for fuzzy comparison."""
    key = company_key(value)
    if key is None:
        return None
    changed = True
    while changed:
        changed = False
        for form in _LEGAL_FORMS:
            if key.endswith(form) and len(key) > len(form):
                key, changed = key[: -len(form)], True
    return key


# ---- column forms -----------------------------------------------------------------------------------------

def company_keys(values: Column) -> Column:
    return map_unique(values, company_key, "string")


def company_cores(values: Column) -> Column:
    return map_unique(values, company_core, "string")
