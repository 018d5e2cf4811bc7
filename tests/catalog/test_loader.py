"""The catalog loader reports every problem at once, each with file and key path."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from catalog import load_catalog, load_catalog_lenient
from zhiwang.errors import ProblemsError


def write_catalog(root: Path, resources: dict[str, dict], core: dict | None = None) -> Path:
    (root / "resources").mkdir(parents=True)
    (root / "departments.yaml").write_text("gongan: {name: 市公安局}\nshichang: {name: 市市场监督管理局}\n", encoding="utf-8")
    (root / "districts.yaml").write_text('"440304": {name: 福田区, cleared: [unconditional, conditional]}\n', encoding="utf-8")
    (root / "core_fields.yaml").write_text(yaml.safe_dump(core or {}, allow_unicode=True), encoding="utf-8")
    for name, data in resources.items():
        (root / "resources" / f"{name}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return root


def person(**overrides) -> dict:
    data = {
        "id": "gongan_population", "title": "实有人口", "provider": "gongan", "category": "base",
        "entity": "person", "update_cycle": "daily", "sharing": "conditional", "sharing_condition": "限政务服务",
        "source": {"connector": "file_drop", "pattern": "*.csv"}, "record_key": ["登记编号"],
        "fields": [
            {"column": "登记编号"},
            {"column": "姓名", "maps_to": "name", "required": True},
            {"column": "公民身份号码", "maps_to": "id_number", "checks": ["cn_id_number"]},
            {"column": "出生日期", "maps_to": "birth_date", "type": "date", "formats": ["%Y%m%d"]},
        ],
    }
    data.update(overrides)
    return data


def test_valid_catalog_loads(tmp_path: Path) -> None:
    root = write_catalog(tmp_path / "cat", {"gongan_population": person()}, {"person": {"name": ["gongan_population"]}})
    cat = load_catalog(root)
    res = cat.resource("gongan_population")
    assert res.canonical_fields()["birth_date"].type == "date"
    assert res.fields[2].checks[0].name == "cn_id_number"
    assert cat.authority("person", "name") == ["gongan_population"]


def test_broken_catalog_reports_every_problem_with_file_and_key(tmp_path: Path) -> None:
    bad = person(provider="gonган", record_key=["编号"], sharing="none")
    bad["fields"][1]["mapsto"] = "name"                 # unknown key
    bad["fields"][3]["type"] = "datetime2"              # not a type
    bad["fields"][2]["maps_to"] = "idnumber"           # not canonical
    other = person(id="gongan_population", title="重复")  # duplicate id in another file
    root = write_catalog(tmp_path / "cat", {"a_bad": bad, "b_dup": other})
    result = load_catalog_lenient(root)
    text = "\n".join(str(p) for p in result.problems)
    assert "cat/resources/a_bad.yaml: fields[1].mapsto: unknown key" in text
    assert "cat/resources/a_bad.yaml: fields[3].type = 'datetime2' is not one of: string, integer, decimal, date, timestamp, boolean" in text
    assert "sharing is none but sharing_reason is missing" in text
    assert "a_bad.yaml: provider = 'gonган' is not a department" in text
    assert "a_bad.yaml: record_key[0] = '编号' is not a column in fields" in text
    assert len(result.problems) >= 5
    with pytest.raises(ProblemsError, match=r"problem\(s\)"):
        load_catalog(root)


def test_semantic_problems_on_an_otherwise_valid_resource(tmp_path: Path) -> None:
    res = person(sharing="conditional", sharing_condition=None)
    res2 = person(id="shichang_x", provider="shichang", entity="legal_entity", sharing="unconditional",
                  sharing_condition=None)
    res2["fields"][2]["maps_to"] = "id_number"  # not a legal_entity field
    res2["fields"].append({"column": "姓名2", "maps_to": "name"})  # name mapped twice
    root = write_catalog(tmp_path / "cat", {"p": res, "e": res2},
                         {"person": {"name": ["nope"]}, "legal_entity": {"uscc": ["shichang_x"]}})
    text = "\n".join(str(p) for p in load_catalog_lenient(root).problems)
    assert "p.yaml: sharing is conditional but sharing_condition is missing" in text
    assert "e.yaml: fields[2].maps_to = 'id_number' is not a canonical legal_entity field" in text
    assert "e.yaml: fields[4].maps_to = 'name' is already fed by fields[1]" in text
    assert "core_fields.yaml: person.name[0] = 'nope' is not a resource" in text
    assert "core_fields.yaml: legal_entity.uscc[0] = 'shichang_x' has no field mapped to uscc" in text


def test_cli_validate_exits_nonzero_and_lists_problems(tmp_path: Path) -> None:
    from zhiwang.cli import app

    bad = person(update_cycle="sometimes")
    bad["source"] = {"connector": "file_drop", "patern": "*.csv"}
    bad["fields"][0]["colour"] = "red"
    root = write_catalog(tmp_path / "cat", {"bad": bad})
    result = CliRunner().invoke(app, ["catalog", "validate", "--catalog", str(root)])
    assert result.exit_code == 1, result.output
    out = " ".join(result.output.split())
    assert "bad.yaml: update_cycle = 'sometimes' is not one of" in out
    assert "bad.yaml: fields[0].colour: unknown key" in out


def test_cli_validate_ok_on_shipped_catalog(home: Path) -> None:
    from zhiwang.cli import app

    result = CliRunner().invoke(app, ["catalog", "validate"])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output


def test_canonical_field_types_are_fixed(tmp_path: Path) -> None:
    res = person()
    res["fields"][3]["type"] = "string"
    res["fields"][3].pop("formats")
    res["fields"][1]["type"] = "integer"
    root = write_catalog(tmp_path / "cat", {"p": res})
    text = "\n".join(str(p) for p in load_catalog_lenient(root).problems)
    assert "p.yaml: fields[3].type = 'string' cannot feed birth_date; use type: date or timestamp" in text
    assert "p.yaml: fields[1].type = 'integer' cannot feed name; use type: string" in text
