"""Ground truth of the demo city under ``<home>/demo/``: the true entities and, for every row of every
extract, which entity it is, which mistakes it carries and whether the quality gate should stop it.

Nothing in the pipeline reads these files; tests and the benchmark score the pipeline against them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from zhiwang.demo.build import Extract
from zhiwang.demo.world import World

RECORD_SCHEMA = pa.schema([
    ("resource", pa.string()), ("delivery", pa.int16()), ("file", pa.string()),
    ("row_number", pa.int64()), ("record_key", pa.string()), ("entity", pa.string()),
    ("true_entity_id", pa.string()), ("noise", pa.list_(pa.string())), ("expected_quarantine", pa.bool_()),
])
"""``row_number`` counts data rows from 1 (the header is not a row), as staging's ``_row_number`` does."""


def write_parquet(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


def records_table(ex: Extract, world: World, delivery: int, file: str) -> pa.Table:
    ids = {"person": world.persons["person_id"], "legal_entity": world.firms["entity_id"],
           "building": world.buildings["building_id"]}[ex.entity]
    n = ex.rows
    empty: list[str] = []
    noise = [ex.noise.get(i, empty) for i in range(n)]
    return pa.table({
        "resource": pa.array([ex.resource] * n, pa.string()),
        "delivery": pa.array(np.full(n, delivery, dtype=np.int16)),
        "file": pa.array([file] * n, pa.string()),
        "row_number": pa.array(np.arange(1, n + 1, dtype=np.int64)),
        "record_key": pa.array(ex.record_key, pa.string()),
        "entity": pa.array([ex.entity] * n, pa.string()),
        "true_entity_id": pa.array(ids[ex.entity_index], pa.string()),
        "noise": pa.array(noise, pa.list_(pa.string())),
        "expected_quarantine": pa.array(ex.quarantine, pa.bool_()),
    }, schema=RECORD_SCHEMA)


def _date(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype("datetime64[D]"), pa.date32())


def entity_tables(w: World) -> dict[str, pa.Table]:
    p, f, b = w.persons, w.firms, w.buildings
    employer = p["employer"]
    has_job = employer >= 0
    firm = np.maximum(employer, 0)

    def job(values: np.ndarray) -> pa.Array:
        return pa.array(np.where(has_job, values[firm], None), pa.string())

    persons = pa.table({
        "person_id": p["person_id"], "name": p["name"], "id_number": p["id_number"], "gender": p["gender"],
        "birth_date": _date(p["birth_date"]), "ethnicity": p["ethnicity"], "phone": pa.array(p["phone"], pa.string()),
        "residence_address": p["residence_address"], "hukou_address": p["hukou_address"],
        "district_code": p["district_code"], "grid_code": p["grid_code"],
        "building_id": b["building_id"][p["building"]], "room": pa.array(p["room"]),
        "employer_entity_id": job(f["entity_id"]), "employer_name": job(f["name"]), "employer_uscc": job(f["uscc"]),
        "religion": p["religion"], "health": p["health"], "alive": p["alive"],
        "first_delivery": p["first_delivery"], "changed_delivery": p["changed_delivery"],
        "changed_fields": p["changed_fields"], "death_delivery": p["death_delivery"],
    })
    firms = pa.table({
        "entity_id": f["entity_id"], "name": f["name"], "uscc": f["uscc"],
        "legal_rep_person_id": p["person_id"][f["legal_rep"]], "legal_rep_name": f["legal_rep_name"],
        "legal_rep_id_number": f["legal_rep_id_number"], "registered_address": f["registered_address"],
        "business_address": f["business_address"], "registered_building_id": b["building_id"][f["building"]],
        "business_building_id": b["building_id"][f["business_building"]],
        "established_date": _date(f["established_date"]), "industry_code": f["industry_code"], "phone": f["phone"],
        "district_code": f["district_code"], "status": f["status"], "first_delivery": f["first_delivery"],
        "changed_delivery": f["changed_delivery"], "changed_fields": f["changed_fields"],
    })
    from zhiwang.demo.places import KIND_NAMES, building_address

    buildings = pa.table({
        "building_id": b["building_id"], "building_code": b["building_code"], "address": building_address(b),
        "district_code": b["district_code"], "street": b["street"], "community": b["community"],
        "grid_code": b["grid_code"], "lon": b["lon"], "lat": b["lat"], "floors": b["floors"],
        "kind": KIND_NAMES[b["kind"]], "estate": b["estate"], "block": b["block"],
        "first_delivery": b["first_delivery"], "changed_delivery": b["changed_delivery"],
        "changed_fields": b["changed_fields"],
    })
    return {"persons": persons, "legal_entities": firms, "buildings": buildings}


def read_meta(directory: Path) -> dict[str, Any]:
    try:
        return json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def write_meta(directory: Path, meta: dict[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / ".meta.json.partial"
    tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, directory / "meta.json")
