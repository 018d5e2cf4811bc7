"""Mainland China mobile numbers: 11 digits starting 1[3-9], after removing +86/0086, spaces and dashes."""

from __future__ import annotations

import re

_STRIP = re.compile(r"[\s\-－—()（）.]")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_FULLWIDTH = str.maketrans("０１２３４５６７８９＋", "0123456789+")


def normalize_mobile(value: str | None) -> str | None:
    """The 11-digit number, or None when it is not a mainland mobile number."""
    if value is None:
        return None
    digits = _STRIP.sub("", str(value).translate(_FULLWIDTH))
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == 11 + len(prefix):
            digits = digits[len(prefix):]
            break
    return digits if _MOBILE.match(digits) else None


def is_valid_mobile(value: str | None) -> bool:
    return normalize_mobile(value) is not None
