"""Hypothesis strategies and helpers shared by the entity-resolution tests."""

from __future__ import annotations

from hypothesis import strategies as st


def fullwidth(text: str) -> str:
    """ASCII → full-width forms (what a Chinese input method in full-width mode types)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" if c == " " else c for c in text)


# Characters common in given names whose traditional form converts back to the same simplified one.
GIVEN_CHARS = "小明伟威敏静丽强磊军洋勇艳杰娟涛超秀霞平刚桂英华芳玉兰志红建国文斌宇浩然欣怡晨子轩梓涵雨萱佳琪思博俊诗晓"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"

han_names = st.builds(
    lambda s, g: s + g, st.sampled_from(SURNAMES), st.text(alphabet=GIVEN_CHARS, min_size=1, max_size=2)
)


def cn_digits(n: int) -> str:
    """Digit-by-digit Chinese numerals: 202 → 二〇二."""
    return "".join("〇一二三四五六七八九"[int(d)] for d in str(n))


def cn_number(n: int) -> str:
    """Positional Chinese numeral for 0 < n < 10000: 12 → 十二, 1001 → 一千零一, 230 → 二百三十."""
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n < 20:
        return "十" + (digits[n % 10] if n % 10 else "")
    out, zero = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // value % 10
        if d:
            if zero and out:
                out += "零"
            out += digits[d] + unit
            zero = False
        elif out:
            zero = True
    return out
