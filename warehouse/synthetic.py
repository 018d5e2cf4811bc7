"""Synthetic golden tables and a small catalog for warehouse tests and the benchmark.

Vectorised with numpy so a 1M-person city builds in seconds. Values are fake (ID numbers are 18 digits
that look right but are random); provenance names resources of :func:`synthetic_catalog`, whose fields
carry all three sharing classes so masking can be checked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from catalog.canonical import CANONICAL_FIELDS
from catalog.models import Catalog, District, Resource
from warehouse.schema import PROVENANCE_TYPE, SCHEMAS

DISTRICTS = {"440304": ("福田区", ["unconditional", "conditional"]), "440305": ("南山区", ["unconditional"]),
             "440306": ("宝安区", ["unconditional", "conditional"])}

# canonical field → resource that supplied it, per entity (provenance of every synthetic row)
SOURCES = {
    "person": {"name": "gongan_population", "id_number": "gongan_population", "gender": "gongan_population",
               "birth_date": "gongan_population", "ethnicity": "gongan_population", "phone": "wangge_population",
               "residence_address": "wangge_population", "hukou_address": "gongan_population",
               "district_code": "gongan_population", "grid_code": "wangge_population",
               "employer_name": "renshe_insured", "employer_uscc": "renshe_insured"},
    "legal_entity": {f: "shichang_enterprise" for f in CANONICAL_FIELDS["legal_entity"]},
    "building": {f: "zhujian_building" for f in CANONICAL_FIELDS["building"]},
}


_FIELD_TYPE = {"birth_date": "date", "established_date": "date", "lon": "decimal", "lat": "decimal", "floors": "integer"}


def _resource(rid: str, entity: str, sharing: str, fields: dict[str, str | None]) -> Resource:
    extra = {"sharing_condition": "限区级政务服务使用"} if sharing == "conditional" else {}
    return Resource.model_validate({
        "id": rid, "title": rid, "provider": rid.split("_")[0], "category": "base", "entity": entity,
        "update_cycle": "daily", "sharing": sharing, **extra, "source": {"connector": "file_drop", "pattern": "*.csv"},
        "record_key": ["key"], "fields": [{"column": "key"}] + [
            {"column": f"c_{f}", "maps_to": f, "type": _FIELD_TYPE.get(f, "string"), **({"sharing": s} if s else {})}
            for f, s in fields.items()],
    })


def synthetic_catalog(directory: str = "synthetic") -> Catalog:
    """id_number is conditional, phone is none, legal_rep_id_number is conditional; the rest unconditional."""
    person = SOURCES["person"]
    resources = [
        _resource("gongan_population", "person", "unconditional",
                  {f: ("conditional" if f == "id_number" else None) for f, r in person.items() if r == "gongan_population"}),
        _resource("wangge_population", "person", "unconditional",
                  {f: ("none" if f == "phone" else None) for f, r in person.items() if r == "wangge_population"}),
        _resource("renshe_insured", "person", "unconditional",
                  {"employer_name": None, "employer_uscc": None, "id_number": "conditional", "phone": "none"}),
        _resource("shichang_enterprise", "legal_entity", "unconditional",
                  {f: {"legal_rep_id_number": "conditional", "phone": "none"}.get(f) for f in CANONICAL_FIELDS["legal_entity"]}),
        _resource("zhujian_building", "building", "unconditional", {f: None for f in CANONICAL_FIELDS["building"]}),
    ]
    return Catalog(directory=directory, resources={r.id: r for r in resources}, departments={},
                   districts={code: District(name=n, cleared=c) for code, (n, c) in DISTRICTS.items()}, core_fields={})


def _ids(prefix: str, n: int) -> pa.Array:
    return pa.array(np.char.add(prefix, np.char.zfill(np.arange(n).astype(str), 9)))


def _flat(values: np.ndarray) -> pa.Array:
    array = pa.array(values, pa.string())
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _provenance(entity: str, ids: np.ndarray, batch: str) -> pa.Array:
    fields = list(SOURCES[entity])
    n, k = len(ids), len(fields)
    keys = _flat(np.tile(np.array(fields), n))
    resources = _flat(np.tile(np.array([SOURCES[entity][f] for f in fields]), n))
    record_keys = _flat(np.repeat(ids, k))
    batches = _flat(np.full(n * k, batch))
    items = pa.StructArray.from_arrays([resources, record_keys, batches], names=["resource", "record_key", "batch_id"])
    offsets = pa.array(np.arange(0, n * k + 1, k, dtype=np.int32))
    return pa.MapArray.from_arrays(offsets, keys, items).cast(PROVENANCE_TYPE)


def _digits(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    return np.char.zfill(rng.integers(0, 10**width, n).astype(str), width)


def synthetic_tables(persons: int, seed: int = 1, batch: str = "b1") -> dict[str, pa.Table]:
    """Golden tables for ``persons`` people, persons/10 firms and persons/5 buildings spread over DISTRICTS."""
    rng = np.random.default_rng(seed)
    codes = np.array(list(DISTRICTS))
    n_e, n_b = max(persons // 10, 1), max(persons // 5, 1)
    out: dict[str, pa.Table] = {}

    def entity(name: str, n: int, prefix: str, values: dict[str, object]) -> None:
        ids = _ids(prefix, n)
        cols = {"golden_id": ids, **values, "status": pa.array(["active"] * n),
                "merged_into": pa.nulls(n, pa.string()), "source_count": pa.array(rng.integers(1, 4, n).astype(np.int32)),
                "provenance": _provenance(name, ids.to_numpy(zero_copy_only=False), batch)}
        out[name] = pa.table(cols).select(SCHEMAS[name].names).cast(SCHEMAS[name])

    p_dist = codes[rng.integers(0, len(codes), persons)]
    birth = rng.integers(-20000, 15000, persons).astype("datetime64[D]")
    id_numbers = np.char.add(np.char.add(p_dist, np.datetime_as_string(birth).astype("U10")), _digits(rng, persons, 4))
    id_numbers = np.char.replace(id_numbers, "-", "")
    entity("person", persons, "P", {
        "name": pa.array(np.char.add(rng.choice(list("王李张刘陈杨黄赵吴周"), persons), rng.choice(["伟", "芳", "娜", "敏", "静", "磊"], persons))),
        "id_number": pa.array(id_numbers), "gender": pa.array(rng.choice(["1", "2"], persons)),
        "birth_date": pa.array(birth).cast(pa.date32()), "ethnicity": pa.array(["汉族"] * persons),
        "phone": pa.array(np.char.add("13", _digits(rng, persons, 9))),
        "residence_address": pa.array(np.char.add("深圳市某路", rng.integers(1, 999, persons).astype(str))),
        "hukou_address": pa.array(np.char.add("广东省某县", rng.integers(1, 99, persons).astype(str))),
        "district_code": pa.array(p_dist), "grid_code": pa.array(np.char.add(p_dist, _digits(rng, persons, 6))),
        "employer_name": pa.array(np.char.add("公司", rng.integers(0, n_e, persons).astype(str))),
        "employer_uscc": pa.array(np.char.add("91440300", _digits(rng, persons, 10))),
    })
    e_dist = codes[rng.integers(0, len(codes), n_e)]
    entity("legal_entity", n_e, "E", {
        "name": pa.array(np.char.add("公司", np.arange(n_e).astype(str))),
        "uscc": pa.array(np.char.add("91440300", _digits(rng, n_e, 10))), "legal_rep_name": pa.array(["法人"] * n_e),
        "legal_rep_id_number": pa.array(np.char.add(e_dist, _digits(rng, n_e, 12))),
        "registered_address": pa.array(np.char.add("深圳市注册路", np.arange(n_e).astype(str))),
        "business_address": pa.nulls(n_e, pa.string()),
        "established_date": pa.array(rng.integers(0, 19000, n_e).astype("datetime64[D]")).cast(pa.date32()),
        "industry_code": pa.array(rng.choice(["C", "F", "I"], n_e)), "phone": pa.array(np.char.add("0755", _digits(rng, n_e, 8))),
        "district_code": pa.array(e_dist),
    })
    b_dist = codes[rng.integers(0, len(codes), n_b)]
    entity("building", n_b, "B", {
        "building_code": pa.array(np.char.add(b_dist, _digits(rng, n_b, 9))),
        "address": pa.array(np.char.add("深圳市楼栋", np.arange(n_b).astype(str))), "district_code": pa.array(b_dist),
        "street": pa.array(["街道"] * n_b), "community": pa.array(["社区"] * n_b),
        "grid_code": pa.array(np.char.add(b_dist, _digits(rng, n_b, 6))),
        "lon": pa.array(rng.uniform(113.8, 114.4, n_b)), "lat": pa.array(rng.uniform(22.4, 22.8, n_b)),
        "floors": pa.array(rng.integers(1, 40, n_b).astype(np.int32)),
    })
    p_ids, e_ids, b_ids = (out[t].column("golden_id").combine_chunks() for t in ("person", "legal_entity", "building"))
    out["xref"] = pa.table({
        "entity": pa.array(["person"] * persons + ["legal_entity"] * n_e + ["building"] * n_b),
        "resource": pa.array(["gongan_population"] * persons + ["shichang_enterprise"] * n_e + ["zhujian_building"] * n_b),
        "record_key": pa.concat_arrays([p_ids, e_ids, b_ids]), "batch_id": pa.array([batch] * (persons + n_e + n_b)),
        "golden_id": pa.concat_arrays([p_ids, e_ids, b_ids]), "match_probability": pa.array(np.ones(persons + n_e + n_b)),
    })
    out["links"] = pa.table({
        "relation": pa.array(["resides_in"] * persons), "from_id": p_ids,
        "to_id": pa.array(np.char.add("B", np.char.zfill(rng.integers(0, n_b, persons).astype(str), 9))),
    })
    return out


def change_persons(tables: dict[str, pa.Table], fraction: float, seed: int = 2) -> tuple[dict[str, pa.Table], list[str]]:
    """A copy of ``tables`` where ``fraction`` of persons moved flat within their district (residence_address)."""
    import pyarrow.compute as pc

    person = tables["person"]
    rng = np.random.default_rng(seed)
    picked = np.zeros(person.num_rows, dtype=bool)
    picked[rng.choice(person.num_rows, max(int(person.num_rows * fraction), 1), replace=False)] = True
    mask = pa.array(picked)
    moved = pc.if_else(mask, pc.binary_join_element_wise(person.column("residence_address"), "室", ""), person.column("residence_address"))
    changed = dict(tables)
    changed["person"] = person.set_column(person.schema.get_field_index("residence_address"), "residence_address", moved)
    return changed, pc.filter(person.column("golden_id"), mask).to_pylist()


def write_catalog(catalog: Catalog, directory: Path) -> Path:
    """Write ``catalog`` as a catalog directory (resources/*.yaml, departments, districts, core_fields)."""
    import yaml

    (directory / "resources").mkdir(parents=True, exist_ok=True)
    providers = sorted({r.provider for r in catalog.resources.values()})
    (directory / "departments.yaml").write_text(yaml.safe_dump({p: {"name": p} for p in providers}, allow_unicode=True), encoding="utf-8")
    districts = {code: {"name": d.name, "cleared": list(d.cleared)} for code, d in catalog.districts.items()}
    (directory / "districts.yaml").write_text(yaml.safe_dump(districts, allow_unicode=True), encoding="utf-8")
    (directory / "core_fields.yaml").write_text(yaml.safe_dump(catalog.core_fields or {"person": {}}), encoding="utf-8")
    for resource in catalog.resources.values():
        data = resource.model_dump(exclude_defaults=True, mode="json")
        data["source"] = resource.source.options()
        (directory / "resources" / f"{resource.id}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return directory
