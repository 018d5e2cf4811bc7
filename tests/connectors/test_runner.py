"""Ingest end to end on a small catalog of our own: onboarding is one YAML file and one dropped file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from quality.validators import cn_id

DEPARTMENTS = "minzheng: {name: 市民政局}\n"
DISTRICTS = '"440304": {name: 福田区, cleared: [unconditional, conditional]}\n'

RESOURCE = {
    "id": "minzheng_elderly", "title": "高龄津贴发放对象", "provider": "minzheng", "category": "business",
    "entity": "person", "update_cycle": "monthly", "sharing": "conditional", "sharing_condition": "限民政业务使用",
    "source": {"connector": "file_drop", "pattern": ["*.csv", "*.xlsx", "*.jsonl"]},
    "record_key": ["档案号"],
    "fields": [
        {"column": "档案号", "required": True},
        {"column": "姓名", "maps_to": "name", "required": True},
        {"column": "身份证号", "maps_to": "id_number"},
        {"column": "出生日期", "maps_to": "birth_date", "type": "date", "required": True,
         "formats": ["%Y%m%d", "%Y-%m-%d", "%Y年%m月%d日"]},
        {"column": "津贴金额", "type": "decimal"},
    ],
}


def valid_id(body: str) -> str:
    return body + cn_id.check_char(body)


ROWS = [
    ["A001", "张伟", valid_id("44030419400102001"), "19400102", "300.5"],
    ["A002", "王芳", valid_id("44030419380315002"), "1938年3月15日", "500"],
    ["A003", "李娜", "440304193", "1939-07-01", "abc"],          # optional decimal unparseable → warning
    ["", "无编号", valid_id("44030419410101003"), "19410101", "300"],  # no record key → quarantine
    ["A005", "赵敏", valid_id("44030419420202004"), "不详", "300"],     # required date unparseable → quarantine
    ["A006", "", valid_id("44030419430303005"), "19430303", "300"],    # required name missing → quarantine
]
HEADER = ["档案号", "姓名", "身份证号", "出生日期", "津贴金额"]


def drop_csv(home: Path, name: str, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    inbox = home / "inbox" / "minzheng_elderly"
    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / name
    lines = [",".join(HEADER)] + [",".join(r) for r in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def ingest_json(home: Path, catalog: Path) -> list[dict]:
    from zhiwang.cli import app

    result = CliRunner().invoke(app, ["ingest", "--json", "--home", str(home), "--catalog", str(catalog)])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines() if line.strip()]


def test_onboarding_with_one_yaml_and_one_file(home: Path, own_catalog: Path) -> None:
    drop_csv(home, "elderly_202611.csv", ROWS, encoding="gb18030")
    [rec] = ingest_json(home, own_catalog)
    assert rec["status"] == "staged", rec
    assert rec["rows_read"] == 6
    assert rec["rows_read"] == rec["rows_staged"] + rec["rows_quarantined"]
    assert rec["rows_quarantined"] == 3
    staged = pq.read_table(home / "staging" / "minzheng_elderly" / f"{rec['batch_id']}.parquet").to_pylist()
    by_key = {r["_record_key"]: r for r in staged}
    assert set(by_key) == {"A001", "A002", "A003"}
    assert str(by_key["A002"]["birth_date"]) == "1938-03-15"
    assert by_key["A001"]["src_津贴金额"] == "300.5" and by_key["A001"]["_row_number"] == 1
    assert by_key["A003"]["src_身份证号"] == "440304193"          # kept as delivered
    quarantined = pq.read_table(home / "quarantine" / "minzheng_elderly" / f"{rec['batch_id']}.parquet").to_pylist()
    reasons = {q["_row_number"]: {r["check"] for r in q["reasons"]} for q in quarantined}
    assert reasons == {4: {"record_key"}, 5: {"parse"}, 6: {"required"}}


def test_unparseable_optional_value_is_kept_with_a_warning(home: Path, own_catalog: Path) -> None:
    spec = yaml.safe_load((own_catalog / "resources" / "minzheng_elderly.yaml").read_text(encoding="utf-8"))
    spec["fields"][3]["required"] = False
    (own_catalog / "resources" / "minzheng_elderly.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    drop_csv(home, "a.csv", [ROWS[0], ROWS[4]])
    [rec] = ingest_json(home, own_catalog)
    assert (rec["rows_staged"], rec["rows_quarantined"]) == (2, 0)
    staged = pq.read_table(home / "staging" / "minzheng_elderly" / f"{rec['batch_id']}.parquet").to_pylist()
    row = next(r for r in staged if r["_record_key"] == "A005")
    assert row["birth_date"] is None and row["src_出生日期"] == "不详"
    [warning] = json.loads(row["_warnings"])
    assert (warning["check"], warning["column"], warning["severity"]) == ("parse", "出生日期", "warning")


def test_same_file_dropped_twice_is_ingested_once(home: Path, own_catalog: Path) -> None:
    src = drop_csv(home, "a.csv", ROWS[:2])
    copy = src.read_bytes()
    [first] = ingest_json(home, own_catalog)
    (src.parent / "a_again.csv").write_bytes(copy)
    [second] = ingest_json(home, own_catalog)
    assert first["status"] == "staged"
    assert second["status"] == "skipped"
    assert first["batch_id"] in second["message"]
    assert (src.parent / "_duplicates" / "a_again.csv").exists()
    assert ingest_json(home, own_catalog) == []


def test_missing_required_column_rejects_the_delivery(home: Path, own_catalog: Path) -> None:
    inbox = home / "inbox" / "minzheng_elderly"
    inbox.mkdir(parents=True)
    (inbox / "bad.csv").write_text("档案号,姓名\nA001,张伟\n", encoding="utf-8")
    [rec] = ingest_json(home, own_catalog)
    assert rec["status"] == "rejected"
    assert "bad.csv" in rec["message"] and "出生日期" in rec["message"]
    assert rec["rows_read"] == rec["rows_staged"] + rec["rows_quarantined"] == 0
    assert (inbox / "_rejected" / "bad.csv").exists()


def test_formats_stage_identically(home: Path, own_catalog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import openpyxl

    monkeypatch.setenv("ZHIWANG_SNAPSHOT_DIFF", "off")  # stage all four in full to compare them (see test_snapshot.py)

    rows = ROWS[:3]
    drop_csv(home, "gb.csv", rows, encoding="gb18030")
    drop_csv(home, "u8bom.csv", rows, encoding="utf-8-sig")
    inbox = home / "inbox" / "minzheng_elderly"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    for r in rows:
        ws.append(r)
    wb.save(inbox / "x.xlsx")
    with open(inbox / "j.jsonl", "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(dict(zip(HEADER, r, strict=True)), ensure_ascii=False) + "\n")
    records = ingest_json(home, own_catalog)
    assert [r["status"] for r in records] == ["staged"] * 4
    tables = []
    for rec in records:
        t = pq.read_table(home / "staging" / "minzheng_elderly" / f"{rec['batch_id']}.parquet")
        tables.append(t.drop_columns(["_batch_id", "_delivered_at"]).to_pylist())
    assert tables[0] == tables[1] == tables[2] == tables[3]
    assert {r["name"] for r in tables[0]} == {"张伟", "王芳", "李娜"}


def test_crash_after_landing_is_resumed(home: Path, own_catalog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import connectors.runner as runner

    drop_csv(home, "a.csv", ROWS[:2])
    real = runner.map_delivery

    def boom(*args, **kwargs):
        raise KeyboardInterrupt("simulated crash")

    monkeypatch.setattr(runner, "map_delivery", boom)
    with pytest.raises(KeyboardInterrupt):
        runner.ingest_resource("minzheng_elderly")
    assert not (home / "inbox" / "minzheng_elderly" / "a.csv").exists()  # it was landed
    monkeypatch.setattr(runner, "map_delivery", real)
    [rec] = runner.ingest_resource("minzheng_elderly")
    assert rec.status == "staged" and rec.rows_staged == 2
    assert runner.ingest_resource("minzheng_elderly") == []


def test_unknown_resource_is_a_clear_error(home: Path, own_catalog: Path) -> None:
    from zhiwang.cli import app

    result = CliRunner().invoke(app, ["ingest", "nope", "--home", str(home)])
    assert result.exit_code == 2
    assert "No resource 'nope'" in result.output and "minzheng_elderly" in result.output


def test_shipped_catalog_dir_can_be_copied_and_pointed_at(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(Path(__file__).resolve().parents[2] / "catalog", copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    from zhiwang.validation import validate_catalog

    load, problems = validate_catalog(copy)
    assert problems == [] and len(load.resources) >= 8


def test_refused_file_is_recorded_and_the_rest_still_ingested(home: Path, own_catalog: Path, tmp_path: Path) -> None:
    outside = tmp_path / "secret.csv"
    outside.write_text("x\n", encoding="utf-8")
    drop_csv(home, "good.csv", ROWS[:2])
    (home / "inbox" / "minzheng_elderly" / "link.csv").symlink_to(outside)
    records = ingest_json(home, own_catalog)
    by_file = {r["file"]: r for r in records}
    assert by_file["good.csv"]["status"] == "staged"
    assert by_file["link.csv"]["status"] == "rejected" and by_file["link.csv"]["message"]
    assert outside.read_text(encoding="utf-8") == "x\n"


def test_gate_streams_in_chunks_and_finds_duplicates_across_them(home: Path, own_catalog: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import quality.gate

    monkeypatch.setattr(quality.gate, "CHUNK_ROWS", 2)
    rows = [ROWS[0], ROWS[1], ROWS[2], [*ROWS[0][:1], "张伟伟", *ROWS[0][2:]], ROWS[3]]
    drop_csv(home, "dups.csv", rows)
    [rec] = ingest_json(home, own_catalog)
    assert (rec["rows_read"], rec["rows_staged"], rec["rows_quarantined"]) == (5, 2, 3)
    quarantined = pq.read_table(home / "quarantine" / "minzheng_elderly" / f"{rec['batch_id']}.parquet").to_pylist()
    checks = {q["_row_number"]: {r["check"] for r in q["reasons"]} for q in quarantined}
    assert checks == {1: {"duplicate_record_key"}, 4: {"duplicate_record_key"}, 5: {"record_key"}}


def test_a_lost_landed_copy_is_reported_not_left_pending(home: Path, own_catalog: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import connectors.runner as runner

    drop_csv(home, "a.csv", ROWS[:2])
    monkeypatch.setattr(runner, "map_delivery", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        runner.ingest_resource("minzheng_elderly")
    for landed in (home / "landing" / "minzheng_elderly").iterdir():
        landed.unlink()
    [rec] = runner.ingest_resource("minzheng_elderly")
    assert rec.status == "rejected" and "disappeared before staging" in rec.message
    assert rec.rows_read == rec.rows_staged + rec.rows_quarantined == 0
    assert runner.ingest_resource("minzheng_elderly") == []
