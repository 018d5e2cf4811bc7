"""The city's shipped catalog: it loads and validates, and covers what the pipeline and the demo need."""

from __future__ import annotations

import pytest

from catalog import load_catalog
from tests.conftest import CITY_CATALOG


@pytest.fixture(scope="module")
def city():  # noqa: ANN201
    return load_catalog(CITY_CATALOG)


def test_shipped_catalog_loads_and_validates(city) -> None:  # noqa: ANN001
    from zhiwang.validation import validate_catalog

    _, problems = validate_catalog(CITY_CATALOG)
    assert problems == []
    assert len(city.resources) >= 8
    for rid in city.resources:
        assert city.resource_files[rid].endswith(f"resources/{rid}.yaml")


def test_covers_every_entity_and_the_required_providers(city) -> None:  # noqa: ANN001
    entities = {r.entity for r in city.resources.values()}
    assert {"person", "legal_entity", "building"} <= entities
    providers = {r.provider for r in city.resources.values()}
    assert {"gongan", "renshe", "wangge", "shichang", "shuiwu", "guihua", "zhujian"} <= providers
    assert providers & {"minzheng", "weijian"}
    for entity in ("person", "legal_entity", "building"):
        assert len(city.resources_for(entity)) >= 2, entity


def test_source_formats_and_encodings_are_mixed(city) -> None:  # noqa: ANN001
    kinds = {(r.source.options().get("format"), r.source.options().get("encoding")) for r in city.resources.values()}
    assert {("csv", "gb18030"), ("csv", "utf-8-sig")} <= kinds
    formats = {f for f, _ in kinds}
    assert {"xlsx", "parquet"} <= formats and formats & {"json", "jsonl"}
    assert all(r.source.connector == "file_drop" for r in city.resources.values())


def test_sharing_classes_are_realistic(city) -> None:  # noqa: ANN001
    conditional = [r for r in city.resources.values() if r.sharing == "conditional"]
    assert conditional and all(r.sharing_condition for r in conditional)
    none_fields = [(r.id, f.column) for r in city.resources.values() for f in r.fields if r.field_sharing(f) == "none"]
    assert ("gongan_population", "宗教信仰") in none_fields and ("weijian_health", "JKZK") in none_fields
    # ID numbers never go out unconditionally
    for r in city.resources.values():
        for f in r.fields:
            if f.maps_to in ("id_number", "legal_rep_id_number"):
                assert r.field_sharing(f) != "unconditional", (r.id, f.column)


def test_departments_name_things_their_own_way(city) -> None:  # noqa: ANN001
    id_columns = {r.canonical_fields()["id_number"].column for r in city.resources_for("person")}
    name_columns = {r.canonical_fields()["name"].column for r in city.resources_for("person")}
    assert len(id_columns) >= 4 and {"公民身份号码", "ZJHM"} <= id_columns
    assert {"姓名", "人员姓名", "XM"} <= name_columns
    checks = {c.name for r in city.resources.values() for f in r.fields for c in f.checks}
    assert {"cn_id_number", "cn_uscc", "cn_mobile", "cn_division_code", "gender", "date_range"} <= checks


def test_record_keys_are_required_and_dates_have_formats(city) -> None:  # noqa: ANN001
    for r in city.resources.values():
        for key in r.record_key:
            assert r.field_by_column(key).required, (r.id, key)
        for f in r.fields:
            if f.type == "date":
                assert f.formats, (r.id, f.column)


def test_core_fields_name_the_authorities(city) -> None:  # noqa: ANN001
    assert city.authority("person", "name")[0] == "gongan_population"
    assert city.authority("person", "id_number")[0] == "gongan_population"
    assert city.authority("person", "residence_address")[0] == "wangge_population"
    assert city.authority("legal_entity", "uscc")[0] == "shichang_enterprise"
    assert city.authority("legal_entity", "legal_rep_name")[0] == "shichang_enterprise"
    assert city.authority("building", "building_code")[0] == "guihua_building"
    assert city.authority("building", "lon")[0] == "guihua_building"
    for entity, table in city.core_fields.items():
        for field, ids in table.items():
            assert len(ids) == len(set(ids)), (entity, field)


def test_cli_validate_passes_on_the_city_catalog() -> None:
    from typer.testing import CliRunner

    from zhiwang.cli import app

    result = CliRunner().invoke(app, ["catalog", "validate", "--catalog", str(CITY_CATALOG), "--json"])
    assert result.exit_code == 0, result.output
    assert '"problems": []' in result.stdout
