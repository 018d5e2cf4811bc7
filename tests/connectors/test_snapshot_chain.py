"""The whole chain after a full-snapshot redelivery: diffing it changes nothing downstream.

The demo city's delivery 2 is a full extract with about 1% changed. Run twice, once with snapshot diffing
(the default) and once with ``ZHIWANG_SNAPSHOT_DIFF=off``, the golden library release is the same: same
golden IDs, same golden values, same xref. Only where a record's staged row lives differs (an unchanged row
stays in delivery 1's staged file), which shows in the batch ids of xref and provenance, so those are left out.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

pytestmark = pytest.mark.slow

ENTITIES = ("person", "legal_entity", "building")


def _run_city(home: Path, diff: str, monkeypatch: pytest.MonkeyPatch) -> list:
    from zhiwang.demo import generate_city
    from zhiwang.pipeline import run_all
    from zhiwang.settings import get_settings
    from zhiwang.validation import load_valid_catalog

    settings = get_settings(home, Path(__file__).resolve().parents[2] / "catalog")
    catalog = load_valid_catalog(settings.catalog_dir)
    runs = []
    with monkeypatch.context() as env:
        env.setenv("ZHIWANG_SNAPSHOT_DIFF", diff)
        for delivery in (1, 2):
            generate_city(settings, persons=800, seed=5, delivery=delivery, catalog=catalog)
            runs.append(run_all(settings, catalog))
    return [settings, runs]


def _rows(table: pa.Table, key: list[str], drop: tuple[str, ...]) -> list[dict]:
    keep = [c for c in table.schema.names if c not in drop]
    return sorted(table.select(keep).to_pylist(), key=lambda r: tuple(str(r[k]) for k in key))


def _provenance(table: pa.Table) -> dict[str, list]:
    """Per golden ID: field → (resource, record key), without the batch holding the staged row."""
    out = {}
    for gid, prov in zip(table["golden_id"].to_pylist(), table["provenance"].to_pylist(), strict=True):
        out[gid] = sorted((field, src["resource"], src["record_key"]) for field, src in (prov or []))
    return out


def test_golden_release_is_the_same_with_and_without_diffing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from warehouse.registry import read_table

    on_settings, on_runs = _run_city(tmp_path / "diff_on", "on", monkeypatch)
    off_settings, off_runs = _run_city(tmp_path / "diff_off", "off", monkeypatch)

    second_on = {d.resource: d for d in on_runs[1].deliveries}
    second_off = {d.resource: d for d in off_runs[1].deliveries}
    # (the demo's delivery 2 re-dates many rows, so "unchanged" is well below 99% of it)
    assert sum(d.rows_unchanged for d in second_on.values()) > 0
    assert sum(d.rows_staged for d in second_on.values()) < sum(d.rows_staged for d in second_off.values())
    assert all(d.rows_unchanged == 0 for d in second_off.values())
    for rid, on in second_on.items():  # same verdicts: what was read, quarantined, and accepted now or before
        off = second_off[rid]
        assert (on.rows_read, on.rows_quarantined, on.rows_staged + on.rows_unchanged) == \
            (off.rows_read, off.rows_quarantined, off.rows_staged), rid

    assert [r.extra["release"] for r in on_runs] == [r.extra["release"] for r in off_runs] == [1, 2]
    for entity in ENTITIES:
        on, off = read_table(on_settings, entity), read_table(off_settings, entity)
        assert _rows(on, ["golden_id"], ("provenance",)) == _rows(off, ["golden_id"], ("provenance",)), entity
        # each field's value comes from the same resource and record either way
        assert _provenance(on) == _provenance(off), entity
    on, off = read_table(on_settings, "changes"), read_table(off_settings, "changes")
    assert _rows(on, ["release", "golden_id", "change"], ()) == _rows(off, ["release", "golden_id", "change"], ())
    on, off = read_table(on_settings, "xref"), read_table(off_settings, "xref")
    key = ["entity", "resource", "record_key"]
    assert _rows(on, key, ("batch_id",)) == _rows(off, key, ("batch_id",))
    on, off = read_table(on_settings, "links"), read_table(off_settings, "links")
    assert _rows(on, on.schema.names, ()) == _rows(off, off.schema.names, ())
