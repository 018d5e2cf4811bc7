"""Fixtures for the quality tests: a small person resource and mapped-delivery Parquet files built here,
in the schema staging writes (canonical typed columns, ``src_*`` strings, provenance, ``_warnings``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from catalog.models import Catalog, Department, Resource
from quality.quarantine import QuarantineWriter, Reason
from quality.validators import cn_id

RESOURCE = {
    "id": "gongan_population", "title": "实有人口", "provider": "gongan", "category": "base", "entity": "person",
    "update_cycle": "daily", "sharing": "conditional", "sharing_condition": "限政务服务",
    "source": {"connector": "file_drop", "pattern": "*.csv"},
    "record_key": ["登记编号"],
    "fields": [
        {"column": "登记编号", "required": True},
        {"column": "姓名", "maps_to": "name", "required": True},
        {"column": "公民身份号码", "maps_to": "id_number", "checks": ["cn_id_number"]},
        {"column": "性别", "maps_to": "gender", "checks": ["gender"]},
        {"column": "出生日期", "maps_to": "birth_date", "type": "date"},
        {"column": "手机号码", "maps_to": "phone", "checks": ["cn_mobile"]},
        {"column": "所属区划", "maps_to": "district_code", "checks": [{"name": "cn_division_code", "severity": "error"}]},
        {"column": "户籍类别", "allowed_values": ["户籍", "流动"]},
        {"column": "登记日期", "type": "date", "checks": [{"name": "date_range", "params": {"min": "2000-01-01", "max": "delivery"}}]},
    ],
}
TYPES = {"name": pa.string(), "id_number": pa.string(), "gender": pa.string(), "birth_date": pa.date32(),
         "phone": pa.string(), "district_code": pa.string()}
DELIVERED = dt.datetime(2026, 11, 1, 9, 0)


def make_id(seq: int, born: dt.date = dt.date(1990, 3, 7), male: bool = True, region: str = "440304") -> str:
    tail = seq % 50 * 2 + (1 if male else 0)
    first17 = f"{region}{born:%Y%m%d}{tail:03d}"[:17]
    return first17 + cn_id.check_char(first17)


def person(i: int, **over: Any) -> dict[str, Any]:
    born = dt.date(1960 + i % 40, 1 + i % 12, 1 + i % 28)
    male = i % 2 == 0
    row = {"登记编号": f"R{i:06d}", "姓名": f"张{i}", "公民身份号码": make_id(i, born, male), "性别": "男" if male else "女",
           "出生日期": born.isoformat(), "手机号码": f"138{i:08d}", "所属区划": "440304", "户籍类别": "户籍",
           "登记日期": "2020-05-01"}
    row.update(over)
    return row


def write_mapped(path: Path, resource: Resource, rows: list[dict[str, Any]], warnings: dict[int, str] | None = None) -> Path:
    """A mapped delivery as staging would write it (values typed per the catalog)."""
    cols: dict[str, pa.Array] = {}
    for spec in resource.fields:
        if spec.maps_to:
            values = [r.get(spec.column) for r in rows]
            if spec.type == "date":
                values = [dt.date.fromisoformat(v) if v else None for v in values]
            cols[spec.maps_to] = pa.array(values, TYPES[spec.maps_to])
    for spec in resource.fields:
        if not rows or spec.column in rows[0]:
            cols[f"src_{spec.column}"] = pa.array([r.get(spec.column) for r in rows], pa.string())
    n = len(rows)
    cols["_resource"] = pa.array([resource.id] * n, pa.string())
    cols["_batch_id"] = pa.array(["b1"] * n, pa.string())
    cols["_record_key"] = pa.array([r.get("登记编号") for r in rows], pa.string())
    cols["_row_number"] = pa.array(range(1, n + 1), pa.int64())
    cols["_delivered_at"] = pa.array([DELIVERED] * n, pa.timestamp("us"))
    cols["_warnings"] = pa.array([(warnings or {}).get(i) for i in range(n)], pa.string())
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(cols), path)
    return path


@pytest.fixture()
def resource() -> Resource:
    return Resource.model_validate(RESOURCE)


@pytest.fixture()
def catalog(resource: Resource, tmp_path: Path) -> Catalog:
    return Catalog(directory=str(tmp_path), resources={resource.id: resource},
                   departments={"gongan": Department(name="市公安局")}, districts={}, core_fields={})


@pytest.fixture()
def catalog_dir(tmp_path: Path) -> Path:
    """The test resource as a catalog directory on disk (for the CLI)."""
    import yaml

    root = tmp_path / "catalog"
    (root / "resources").mkdir(parents=True)
    (root / "resources" / "gongan_population.yaml").write_text(yaml.safe_dump(RESOURCE, allow_unicode=True), encoding="utf-8")
    (root / "departments.yaml").write_text("gongan: {name: 市公安局}\n", encoding="utf-8")
    (root / "districts.yaml").write_text('"440304": {name: 福田区, cleared: [unconditional]}\n', encoding="utf-8")
    (root / "core_fields.yaml").write_text("person: {}\n", encoding="utf-8")
    return root


def deliver(settings: Any, resource: Any, catalog: Any, rows: list[dict[str, Any]], batch: str, at: str,
            staging_bad: int = 0) -> Any:
    """What connectors.runner does for one delivery: staging (+ its quarantine), gate, ledger record."""
    from connectors.state import DeliveryRecord, StateStore
    from quality.gate import run_gate

    state = StateStore(settings.state_db)
    staged = [d for d in state.deliveries(resource.id, status="staged")]
    previous = staged[-1].rows_read if staged else None
    quarantine = QuarantineWriter(settings.quarantine, resource.id, batch)
    for i in range(staging_bad):  # rows staging refused (no record key), never in the mapped file
        quarantine.add(1000 + i, None, [Reason("record_key", "登记编号", "记录标识为空")], {"姓名": "某"})
    mapped = write_mapped(settings.staging / resource.id / "_mapped" / f"{batch}.parquet", resource, rows)
    result = run_gate(resource=resource, catalog=catalog, settings=settings, batch_id=batch, source_name=f"{batch}.csv",
                      mapped_path=mapped, quarantine=quarantine, previous_rows=previous,
                      accepted_path=settings.staging / resource.id / f"{batch}.parquet")
    quarantine.write()
    rec = DeliveryRecord(resource=resource.id, batch_id=batch, file=f"{batch}.csv", rows_read=len(rows) + staging_bad,
                         rows_staged=result.rows_accepted, rows_quarantined=len(quarantine), status=result.status,
                         message=result.message, provider=resource.provider, rows_warned=result.rows_warned,
                         staged_path=str(result.accepted_path) if result.accepted_path else None,
                         delivered_at=at, ingested_at=at)
    state.record(rec)
    return rec


