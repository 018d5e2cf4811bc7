"""Small catalogs of our own for the DAG tests (the city's catalog is written elsewhere)."""

from __future__ import annotations

from pathlib import Path

import yaml

DEPARTMENTS = {"minzheng": {"name": "市民政局"}, "gongan": {"name": "市公安局"}, "shichang": {"name": "市市场监督管理局"}}
DISTRICTS = {"440304": {"name": "福田区", "cleared": ["unconditional", "conditional"]},
             "440305": {"name": "南山区", "cleared": ["unconditional"]}}
CYCLES = ["daily", "hourly", "realtime", "weekly", "monthly", "quarterly", "yearly"]
PROVIDERS = [("minzheng", "person"), ("gongan", "person"), ("shichang", "legal_entity")]


def resource(rid: str, i: int = 0) -> dict:
    provider, entity = PROVIDERS[i % len(PROVIDERS)]
    name_field = {"column": "姓名" if entity == "person" else "名称", "maps_to": "name", "required": True}
    return {
        "id": rid, "title": f"测试资源 {i}", "provider": provider, "category": "business", "entity": entity,
        "update_cycle": CYCLES[i % len(CYCLES)], "sharing": "unconditional",
        "source": {"connector": "file_drop", "pattern": "*.csv"},
        "record_key": ["编号"],
        "fields": [{"column": "编号", "required": True}, name_field, {"column": "备注"}],
    }


def write_catalog(root: Path, n: int, prefix: str = "res") -> list[str]:
    """A catalog of ``n`` valid resources under ``root``; returns their ids."""
    (root / "resources").mkdir(parents=True, exist_ok=True)
    (root / "departments.yaml").write_text(yaml.safe_dump(DEPARTMENTS, allow_unicode=True), encoding="utf-8")
    (root / "districts.yaml").write_text(yaml.safe_dump(DISTRICTS, allow_unicode=True), encoding="utf-8")
    (root / "core_fields.yaml").write_text("{}\n", encoding="utf-8")
    ids = [f"{prefix}_{i:03d}" for i in range(n)]
    for i, rid in enumerate(ids):
        text = yaml.safe_dump(resource(rid, i), allow_unicode=True, sort_keys=False)
        (root / "resources" / f"{rid}.yaml").write_text(text, encoding="utf-8")
    return ids
