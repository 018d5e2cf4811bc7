"""Golden values are written one way; what cannot be read stays as delivered."""

from __future__ import annotations

import pyarrow as pa

from entity_resolution.standardize.values import standardize_values
from quality.validators import cn_id


def test_person_values_standardized_and_unreadable_kept() -> None:
    legacy = "110105491231002"
    table = pa.table({
        "name": ["張偉", " 王 芳", None], "gender": ["1", "女", "未知"],
        "phone": ["+86 139-1234-5678", "0755-88886666", "12345"],
        "id_number": [legacy, "12345", None], "birth_date": pa.array([None, None, None], pa.date32()),
    })
    out = standardize_values("person", table).to_pydict()
    assert out["name"] == ["张伟", "王芳", None]
    assert out["gender"] == ["男", "女", "未知"]
    assert out["phone"] == ["13912345678", "0755-88886666", "12345"]
    assert out["id_number"] == [cn_id.upgrade_15_to_18(legacy), "12345", None]
    assert out["birth_date"] == [None, None, None]


def test_company_names_keep_their_words() -> None:
    out = standardize_values("legal_entity", pa.table({"name": ["华强电子科技（深圳）有限公司"]})).to_pydict()
    assert out["name"] == ["华强电子科技(深圳)有限公司"]
