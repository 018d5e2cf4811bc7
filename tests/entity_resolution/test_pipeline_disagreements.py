"""The correction loop's CSV files: which rows go to which provider, in what order, masked how."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa

from entity_resolution.pipeline import _write_disagreements

HEADER = "实体,主数据编码,字段,权威来源,权威值,本部门资源,记录标识,本部门值,说明"
NOTE = "与权威来源不一致，请核实后更正 / differs from the authoritative source: check and correct"


def _rows(rows: list[tuple]) -> pa.Table:
    names = ("golden_id", "field", "authoritative_resource", "authoritative_value", "resource", "record_key",
             "value", "provider")
    return pa.table({n: pa.array([r[i] for r in rows], pa.string()) for i, n in enumerate(names)})


def test_material_rows_go_to_their_provider_in_order_masked(tmp_path: Path) -> None:
    persons = _rows([
        ("P1", "gender", "gov.hukou", "男", "hr.staff", "k1", "1", "hr"),  # formatting only: not written
        ("P1", "id_number", "gov.hukou", "110101199003076616", "hr.staff", "k1", "110101199003076624", "hr"),
        ("P2", "phone", "gov.hukou", "13912345678", "school.pupils", "k2", "139", None),
        ("P2", "name", "gov.hukou", "张伟", "hr.staff", "k3", "张玮", "hr"),
        ("P3", "phone", "gov.hukou", None, "misc.list", "k4", "13812345678", ""),
        ("P3", "name", "gov.hukou", "李娜", "misc.list", "k5", "李 娜, 经理", "unknown"),
    ])
    firms = _rows([("E1", "legal_rep_id_number", "gov.aic", "110101199003076616", "tax.firms", "f1", None, "tax"),
                   ("E2", "name", "gov.aic", "甲公司", "hr.staff", "f2", "乙公司", "hr")])
    buildings = pa.table({"golden_id": ["B1"], "field": ["floors"], "authoritative_value": ["12"], "value": ["13"]})
    empty = _rows([])
    written = _write_disagreements(SimpleNamespace(feedback=tmp_path), 3, {
        "person": persons, "legal_entity": firms, "building": buildings, "other": empty})

    def lines(provider: str) -> list[str]:
        raw = (tmp_path / provider / "disagreements_release3.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        return raw[3:].decode("utf-8").split("\r\n")

    assert written == 8
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hr", "tax", "unknown"]
    assert lines("hr") == [
        HEADER,
        f"person,P1,id_number,gov.hukou,110101********6616,hr.staff,k1,110101********6624,{NOTE}",
        f"person,P2,name,gov.hukou,张伟,hr.staff,k3,张玮,{NOTE}",
        f"legal_entity,E2,name,gov.aic,甲公司,hr.staff,f2,乙公司,{NOTE}", ""]
    assert lines("unknown") == [  # no provider, an empty one and "unknown" itself, in the order they came
        HEADER,
        f"person,P2,phone,gov.hukou,139123*5678,school.pupils,k2,1*9,{NOTE}",
        f"person,P3,phone,gov.hukou,,misc.list,k4,138123*5678,{NOTE}",
        f'person,P3,name,gov.hukou,李娜,misc.list,k5,"李 娜, 经理",{NOTE}',
        f"building,B1,floors,,12,,,13,{NOTE}", ""]
    assert lines("tax") == [HEADER, f"legal_entity,E1,legal_rep_id_number,gov.aic,110101********6616,tax.firms,f1,,{NOTE}", ""]
