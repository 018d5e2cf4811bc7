"""Hypothesis strategies and helpers shared by the entity-resolution tests.

Property tests run with ``deadline=None``: first calls load OpenCC and pypinyin, and the machine is shared.
"""

from __future__ import annotations

from hypothesis import strategies as st

from entity_resolution.standardize._text import int_to_cn, int_to_cn_digits


def fullwidth(text: str) -> str:
    """ASCII → full-width forms (what a Chinese input method in full-width mode types)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" if c == " " else c for c in text)


# Characters common in given names whose traditional form converts back to the same simplified one.
GIVEN_CHARS = "小明伟威敏静丽强磊军洋勇艳杰娟涛超秀霞平刚桂英华芳玉兰志红建国文斌宇浩然欣怡晨子轩梓涵雨萱佳琪思博俊诗晓"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"

han_names = st.builds(
    lambda s, g: s + g, st.sampled_from(SURNAMES), st.text(alphabet=GIVEN_CHARS, min_size=1, max_size=2)
)


# Rendering helpers live with the parser they invert.
cn_digits = int_to_cn_digits
cn_number = int_to_cn
