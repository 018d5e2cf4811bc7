"""Place names used to strip prefixes from company names and to parse addresses.

Deliberately small: all provinces, the prefecture-level cities of Guangdong, the other large cities, and
Shenzhen's districts with their GB/T 2260 codes. GB/T 2260 codes are retired and reassigned over time
(龙华区 and 坪山区 became districts in 2017, 光明区 in 2018): these are the codes in force since 2018.
"""

from __future__ import annotations

PROVINCES = (
    "北京市", "天津市", "上海市", "重庆市", "河北省", "山西省", "辽宁省", "吉林省", "黑龙江省", "江苏省",
    "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省", "广东省", "海南省",
    "四川省", "贵州省", "云南省", "陕西省", "甘肃省", "青海省", "台湾省", "内蒙古自治区", "广西壮族自治区",
    "西藏自治区", "宁夏回族自治区", "新疆维吾尔自治区", "香港特别行政区", "澳门特别行政区",
)

GUANGDONG_CITIES = (
    "广州市", "深圳市", "珠海市", "汕头市", "佛山市", "韶关市", "湛江市", "肇庆市", "江门市", "茂名市", "惠州市",
    "梅州市", "汕尾市", "河源市", "阳江市", "清远市", "东莞市", "中山市", "潮州市", "揭阳市", "云浮市",
)

CITIES = (
    *GUANGDONG_CITIES,
    # municipalities, provincial capitals and other large cities
    "北京市", "上海市", "天津市", "重庆市", "杭州市", "南京市", "苏州市", "无锡市", "宁波市", "温州市",
    "武汉市", "成都市", "西安市", "长沙市", "郑州市", "济南市", "青岛市", "沈阳市", "大连市", "哈尔滨市",
    "长春市", "石家庄市", "太原市", "合肥市", "福州市", "厦门市", "泉州市", "南昌市", "南宁市", "海口市",
    "三亚市", "贵阳市", "昆明市", "拉萨市", "兰州市", "西宁市", "银川市", "乌鲁木齐市", "呼和浩特市",
)

SHENZHEN_DISTRICTS = {
    "罗湖区": "440303", "福田区": "440304", "南山区": "440305", "宝安区": "440306", "龙岗区": "440307",
    "盐田区": "440308", "龙华区": "440309", "坪山区": "440310", "光明区": "440311",
    # 大鹏新区 is a functional area, not an administrative district: it has no GB/T 2260 code of its own
    "大鹏新区": None,
}

# The 74 streets (街道) of Shenzhen by district, to place an address that names its street but not its
# district (深圳市粤海街道…). 大鹏新区's three streets have no district code (see above).
_STREETS_BY_DISTRICT = {
    "罗湖区": "桂园 黄贝 东门 翠竹 南湖 笋岗 东湖 莲塘 东晓 清水河",
    "福田区": "园岭 南园 福田 沙头 香蜜湖 梅林 莲花 华富 福保 华强北",
    "南山区": "南头 南山 沙河 蛇口 招商 粤海 桃源 西丽",
    "宝安区": "新安 西乡 航城 福永 福海 沙井 新桥 松岗 燕罗 石岩",
    "龙岗区": "平湖 坂田 布吉 南湾 横岗 龙城 龙岗 坪地 吉华 园山 宝龙",
    "盐田区": "梅沙 盐田 沙头角 海山",
    "龙华区": "观湖 民治 龙华 大浪 福城 观澜",
    "坪山区": "坪山 马峦 碧岭 石井 坑梓 龙田",
    "光明区": "光明 公明 新湖 凤凰 玉塘 马田",
    "大鹏新区": "葵涌 大鹏 南澳",
}
SHENZHEN_STREETS = {f"{street}街道": district for district, streets in _STREETS_BY_DISTRICT.items()
                    for street in streets.split()}


def short_name(full: str) -> str:
    """广东省 → 广东, 深圳市 → 深圳, 广西壮族自治区 → 广西, 南山区 → 南山."""
    for suffix in ("壮族自治区", "回族自治区", "维吾尔自治区", "特别行政区", "自治区", "新区", "省", "市", "区"):
        if full.endswith(suffix) and len(full) > len(suffix) + 1:
            return full[: -len(suffix)]
    return full


def district_code(name: str | None) -> str | None:
    """GB/T 2260 code of a Shenzhen district given with or without 区 (南山区, 南山); None if unknown."""
    if not name:
        return None
    if name in SHENZHEN_DISTRICTS:
        return SHENZHEN_DISTRICTS[name]
    return SHENZHEN_DISTRICTS.get(name + "区")
