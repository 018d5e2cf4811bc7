"""Company-name keys: place prefixes and inserts, legal forms, width and spacing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from entity_resolution.standardize.companies import company_core, company_key, normalize_company_name
from tests.entity_resolution.er_strategies import fullwidth

# Characters for generated trade names: none of them starts a place name or is an administrative suffix.
TRADE_CHARS = "腾讯华为科技信息网络数码电子贸易咨询管理文化传媒星辰恒达鑫源卓越博雅瑞丰盛泰宏图锦程"
cores = st.text(alphabet=TRADE_CHARS, min_size=2, max_size=8)


@pytest.mark.parametrize(("a", "b"), [
    ("深圳市腾讯计算机系统有限公司", "腾讯计算机系统有限公司"),
    ("广东省深圳市腾讯计算机系统有限责任公司", "腾讯计算机系统有限公司"),
    ("腾讯计算机系统（深圳）有限公司", "腾讯计算机系统有限公司"),
    ("腾讯计算机系统(深圳市)有限公司", "腾讯计算机系统有限公司"),
    ("深圳市南山区某某餐饮店", "某某餐饮店"),
    ("華為技術有限公司", "华为技术有限公司"),
    ("ＡＢＣ（中国）有限公司", "ABC有限公司"),
])
def test_same_company(a, b):
    assert company_key(a) == company_key(b)


@pytest.mark.parametrize(("a", "b"), [
    ("平安银行股份有限公司", "平安银行有限公司"),  # a different legal form
    ("深圳航空有限责任公司", "四川航空有限责任公司"),  # a bare place name stays part of the name
    ("某某投资合伙企业（有限合伙）", "某某投资合伙企业（普通合伙）"),
])
def test_different_company(a, b):
    assert company_key(a) != company_key(b)


def test_core_and_nulls():
    assert company_core("深圳市腾讯计算机系统有限责任公司") == "腾讯计算机系统"
    assert company_core("平安银行股份有限公司") == "平安银行"
    assert company_core("某某投资合伙企业（有限合伙）") == "某某投资合伙企业"
    assert company_key("深圳市有限公司") == "深圳市有限公司"  # never stripped down to the legal form
    assert company_key("  ") is None and company_key(None) is None and company_key("个人") is None
    assert normalize_company_name("腾讯 （深圳） 有限公司") == "腾讯(深圳)有限公司"


@settings(deadline=None)
@given(
    cores,
    st.sampled_from(["", "深圳市", "广东省深圳市", "广东深圳市", "深圳市南山区", "广东省"]),
    st.sampled_from(["", "（深圳）", "(深圳)", "【深圳市】", "（中国）", "(广东)"]),
    st.sampled_from(["有限公司", "有限责任公司"]),
    st.booleans(),
    st.booleans(),
)
def test_surface_variants_share_a_key(core, prefix, insert, form, spaced, wide):
    rendered = f"{prefix}{core}{insert}{form}"
    if spaced:
        rendered = " ".join([prefix, core, insert, form])
    if wide:
        rendered = fullwidth(rendered)
    assert company_key(rendered) == f"{core}有限公司"
    assert company_core(rendered) == core
    assert company_key(f"{prefix}{core}股份有限公司") == f"{core}股份有限公司"
