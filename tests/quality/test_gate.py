"""The quality gate on small mapped deliveries built here (the schema staging writes)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq

from catalog.models import Catalog, Resource
from quality.gate import GateResult, run_gate
from quality.quarantine import QuarantineWriter
from tests.quality.conftest import RESOURCE, person, write_mapped


def gate(settings: Any, resource: Resource, catalog: Catalog, rows: list[dict[str, Any]], *, batch: str = "b1",
         previous: int | None = None, warnings: dict[int, str] | None = None,
         source_name: str = "人口_20261101.csv") -> tuple[GateResult, QuarantineWriter, Path]:
    mapped = write_mapped(settings.staging / resource.id / "_mapped" / f"{batch}.parquet", resource, rows, warnings)
    quarantine = QuarantineWriter(settings.quarantine, resource.id, batch)
    accepted = settings.staging / resource.id / f"{batch}.parquet"
    result = run_gate(resource=resource, catalog=catalog, settings=settings, batch_id=batch, source_name=source_name,
                      mapped_path=mapped, quarantine=quarantine, previous_rows=previous, accepted_path=accepted)
    return result, quarantine, accepted


def broken_rows() -> list[dict[str, Any]]:
    rows = [person(i) for i in range(12)]
    good = rows[1]["公民身份号码"]
    rows[1]["公民身份号码"] = good[:-1] + ("0" if good[-1] != "0" else "1")  # checksum: warning, nulled
    rows[2]["性别"] = "女"                       # ID says male: cross-field warning
    rows[3]["所属区划"] = "440102"               # retired division code, severity error in the catalog
    rows[4]["户籍类别"] = "外地"                 # not in allowed_values: warning
    rows[5]["登记编号"] = rows[6]["登记编号"]     # duplicate record key: both rows quarantined
    rows[7]["手机号码"] = "0755-1234567"         # landline in a mobile field: warning, nulled
    rows[8]["登记日期"] = "2030-01-01"           # after the delivery: date_range warning on an unmapped field
    rows[9]["出生日期"] = "1961-01-01"           # differs from the ID's birth date: cross-field warning
    rows[10]["性别"] = "未知"                    # not a gender code: warning, nulled
    return rows


def warnings_of(table: pa.Table, row_number: int) -> list[dict[str, Any]]:
    row = table.filter(pa.compute.equal(table["_row_number"], row_number)).to_pylist()[0]
    return json.loads(row["_warnings"] or "[]")


def test_clean_delivery_is_accepted_whole(settings, resource, catalog) -> None:
    rows = [person(i) for i in range(20)]
    result, quarantine, accepted = gate(settings, resource, catalog, rows)
    assert (result.status, result.rows_accepted, result.rows_quarantined, result.rows_warned) == ("staged", 20, 0, 0)
    table = pq.read_table(accepted)
    mapped = pq.read_table(settings.staging / resource.id / "_mapped" / "b1.parquet")
    assert table.schema == mapped.schema
    assert len(quarantine) == 0


def test_every_error_type_lands_with_its_reason(settings, resource, catalog) -> None:
    rows = broken_rows()
    result, quarantine, accepted = gate(settings, resource, catalog, rows)
    assert result.status == "staged"
    assert result.rows_accepted + result.rows_quarantined == len(rows)  # counts reconcile
    by_row = {e["_row_number"]: e for e in quarantine.entries()}
    assert sorted(by_row) == [4, 6, 7]
    assert [r["check"] for r in by_row[4]["reasons"]] == ["cn_division_code"]
    assert "440104" in by_row[4]["reasons"][0]["message"]  # says what replaced the retired code
    assert all(r["check"] == "duplicate_record_key" for n in (6, 7) for r in by_row[n]["reasons"])
    assert by_row[6]["src_登记编号"] == rows[5]["登记编号"]  # delivered values kept for the department

    table = pq.read_table(accepted)
    assert table.num_rows == result.rows_accepted == 9
    expected = {2: "cn_id_number", 3: "cn_id_gender", 5: "allowed_values", 8: "cn_mobile", 9: "date_range",
                10: "cn_id_birth_date", 11: "gender"}
    for row_number, check in expected.items():
        assert [w["check"] for w in warnings_of(table, row_number)] == [check], row_number
    assert result.rows_warned == len(expected)
    row2 = table.filter(pa.compute.equal(table["_row_number"], 2)).to_pylist()[0]
    assert row2["id_number"] is None and row2["src_公民身份号码"] == rows[1]["公民身份号码"]  # nulled, kept as delivered
    row8 = table.filter(pa.compute.equal(table["_row_number"], 8)).to_pylist()[0]
    assert row8["phone"] is None
    row3 = table.filter(pa.compute.equal(table["_row_number"], 3)).to_pylist()[0]
    assert row3["gender"] == "女" and row3["id_number"]  # cross-field: flagged, nothing nulled


def test_no_full_id_number_in_reasons_or_warnings(settings, resource, catalog) -> None:
    rows = broken_rows()
    _, quarantine, accepted = gate(settings, resource, catalog, rows)
    texts = json.dumps([e["reasons"] for e in quarantine.entries()], ensure_ascii=False)
    texts += " ".join(filter(None, pq.read_table(accepted)["_warnings"].to_pylist()))
    for row in rows:
        assert row["公民身份号码"] not in texts
    assert "440304********" in texts


def test_every_failed_check_of_a_row_is_named(settings, resource, catalog) -> None:
    rows = [person(i) for i in range(4)]
    rows[1]["登记编号"] = rows[2]["登记编号"]
    rows[1]["公民身份号码"] = "123"
    rows[1]["所属区划"] = "999999"
    _, quarantine, _ = gate(settings, resource, catalog, rows)
    reasons = {e["_row_number"]: {r["check"]: r["severity"] for r in e["reasons"]} for e in quarantine.entries()}
    assert reasons[2] == {"duplicate_record_key": "error", "cn_division_code": "error", "cn_id_number": "warning"}


def test_catalog_severity_and_required_fields_make_errors(settings, catalog) -> None:
    data = json.loads(json.dumps(RESOURCE))
    data["fields"][2]["required"] = True                         # a nulled required ID would be missing: error
    data["fields"][3]["checks"] = [{"name": "gender", "severity": "error"}]
    resource = Resource.model_validate(data)
    rows = [person(i) for i in range(5)]
    rows[1]["公民身份号码"] = rows[1]["公民身份号码"][:-1] + ("1" if rows[1]["公民身份号码"][-1] == "0" else "0")
    rows[2]["性别"] = "X"
    result, quarantine, _ = gate(settings, resource, catalog, rows)
    checks = {e["_row_number"]: [r["check"] for r in e["reasons"]] for e in quarantine.entries()}
    assert checks == {2: ["cn_id_number"], 3: ["gender"]}
    assert result.rows_accepted == 3


def test_staging_warnings_are_kept_and_extended(settings, resource, catalog) -> None:
    rows = [person(i) for i in range(3)]
    rows[0]["手机号码"] = "12345"
    earlier = json.dumps([{"check": "parse", "column": "出生日期", "message": "cannot read", "value": "x", "severity": "warning"}])
    _, _, accepted = gate(settings, resource, catalog, rows, warnings={0: earlier})
    assert [w["check"] for w in warnings_of(pq.read_table(accepted), 1)] == ["parse", "cn_mobile"]


def test_missing_required_column_rejects_the_delivery(settings, resource, catalog) -> None:
    mapped = write_mapped(settings.staging / "m.parquet", resource, [person(i) for i in range(3)])
    table = pq.read_table(mapped)
    pq.write_table(table.drop_columns(["name", "src_姓名"]), mapped)
    quarantine = QuarantineWriter(settings.quarantine, resource.id, "b9")
    result = run_gate(resource=resource, catalog=catalog, settings=settings, batch_id="b9", source_name="人口_20261102.csv",
                      mapped_path=mapped, quarantine=quarantine, previous_rows=None,
                      accepted_path=settings.staging / "a.parquet")
    assert result.status == "rejected" and result.accepted_path is None and result.rows_accepted == 0
    assert "人口_20261102.csv" in result.message and "'姓名'" in result.message and "deliver it again" in result.message
    assert not (settings.staging / "a.parquet").exists()
    lines = (settings.feedback / "gongan" / "b9.csv").read_text(encoding="utf-8-sig")
    assert "文件被拒收" in lines and "姓名" in lines


def test_wrongly_typed_column_rejects(settings, resource, catalog) -> None:
    mapped = write_mapped(settings.staging / "m.parquet", resource, [person(1)])
    table = pq.read_table(mapped)
    table = table.set_column(table.schema.get_field_index("birth_date"), "birth_date", pa.array(["1990-01-01"]))
    pq.write_table(table, mapped)
    result = run_gate(resource=resource, catalog=catalog, settings=settings, batch_id="b8", source_name="f.csv",
                      mapped_path=mapped, quarantine=QuarantineWriter(settings.quarantine, resource.id, "b8"),
                      previous_rows=None, accepted_path=settings.staging / "a.parquet")
    assert result.status == "rejected" and "'出生日期' has type string, the catalog says date" in result.message


def test_row_count_collapse_holds_the_delivery(settings, resource, catalog) -> None:
    result, quarantine, accepted = gate(settings, resource, catalog, [person(i) for i in range(4)], previous=10)
    assert result.status == "held" and result.rows_accepted == 0 and result.accepted_path is None
    assert "`zhiwang quality release b1`" in result.message and "60%" in result.message
    assert not accepted.exists()
    result, _, _ = gate(settings, resource, catalog, [person(i) for i in range(5)], previous=10, batch="b2")
    assert result.status == "staged"  # exactly 50% fewer is within the limit


def test_feedback_files_list_each_problem_by_record_key(settings, resource, catalog) -> None:
    rows = broken_rows()
    gate(settings, resource, catalog, rows)
    with (settings.feedback / "gongan" / "b1.csv").open(encoding="utf-8-sig") as fh:
        lines = list(csv.DictReader(fh))
    assert {"记录标识", "行号", "字段", "问题", "修改建议"} <= set(lines[0])
    assert len(lines) == 3 + 7  # 3 quarantined rows (one reason each) + 7 warnings
    first = lines[0]
    assert first["记录标识"] == rows[1]["登记编号"] and first["行号"] == "2" and first["字段"] == "公民身份号码"
    assert first["问题"] == "公民身份号码无效" and first["严重程度"] == "警告" and "身份证" in first["修改建议"]
    book = openpyxl.load_workbook(settings.feedback / "gongan" / "b1.xlsx", read_only=True)
    sheet = list(book["问题清单"].iter_rows(values_only=True))
    assert sheet[0][:5] == ("记录标识", "行号", "字段", "问题", "说明") and len(sheet) == 11
    assert rows[1]["公民身份号码"] not in str(sheet)
    book.close()


def test_empty_delivery(settings, resource, catalog) -> None:
    result, _, accepted = gate(settings, resource, catalog, [])
    assert (result.status, result.rows_accepted, result.rows_quarantined) == ("staged", 0, 0)
    assert pq.read_table(accepted).num_rows == 0


def test_suite_is_built_from_the_catalog_and_cached(resource) -> None:
    import datetime as dt

    from quality.suite import suite_for

    columns = None  # every planned check, no filtering by delivered columns
    suite, plan = suite_for(resource, dt.date(2026, 11, 1), columns)
    types = [e.expectation_type for e in suite.expectations]
    assert len(types) == len(plan)
    assert {"expect_column_values_to_be_valid_cn_id_number", "expect_column_pair_cn_id_to_match_gender",
            "expect_column_pair_cn_id_to_match_birth_date", "expect_column_values_to_be_valid_cn_mobile",
            "expect_column_values_to_be_valid_cn_division_code", "expect_column_values_to_be_cn_gender",
            "expect_column_values_to_be_dates_in_range", "expect_column_values_to_be_in_set",
            "expect_column_values_to_not_be_null", "expect_column_values_to_be_unique"} == set(types)
    again, _ = suite_for(resource, dt.date(2026, 11, 1), columns)
    assert again is suite
    other_day, _ = suite_for(resource, dt.date(2026, 11, 2), columns)
    assert other_day is not suite


def test_missing_values_do_not_shift_verdicts(settings, resource, catalog) -> None:
    rows = [person(i) for i in range(8)]
    for i in (1, 2):
        rows[i]["公民身份号码"] = None
        rows[i]["手机号码"] = None
    rows[5]["性别"] = "男" if rows[5]["性别"] == "女" else "女"
    rows[6]["手机号码"] = "020-88886666"
    result, quarantine, accepted = gate(settings, resource, catalog, rows)
    flagged = {r["_row_number"]: [w["check"] for w in json.loads(r["_warnings"])]
               for r in pq.read_table(accepted).to_pylist() if r["_warnings"]}
    assert flagged == {6: ["cn_id_gender"], 7: ["cn_mobile"]}


def test_rejection_feedback_for_staging_rejections(settings, resource, catalog) -> None:
    from quality.feedback import write_rejection_feedback

    xlsx, csv_path = write_rejection_feedback(settings=settings, resource=resource, catalog=catalog, batch_id="b7",
                                              source_name="人口.csv", message="人口.csv: required column 姓名 is missing")
    assert xlsx.exists() and csv_path.parent == settings.feedback / "gongan"
    (line,) = list(csv.DictReader(csv_path.read_text(encoding="utf-8-sig").splitlines()))
    assert line["问题"] == "文件被拒收" and "姓名" in line["说明"]
