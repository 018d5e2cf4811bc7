"""End to end on a small demo city: every row accepted or quarantined, counts reconcile, and every injected
error type the gate can see shows up in quarantine or warnings with the right check."""

from __future__ import annotations

import json
from collections import defaultdict

import pyarrow.parquet as pq
import pytest

from quality.quarantine import quarantine_path

pytestmark = [pytest.mark.slow]

# injected mistake → the check that must report it (on a field the catalog gives that check)
EXPECTED = {
    "broken_missing_key": "record_key", "broken_bad_date": "parse",
    "id_digit_error": "cn_id_number", "id_transposition": "cn_id_number",
    "uscc_digit_error": "cn_uscc", "uscc_transposition": "cn_uscc", "phone_landline": "cn_mobile",
}
# mistakes in form only: the value is still valid and must not be reported by the identifier checks
BENIGN = {"id_15_digit": "cn_id_number", "id_lowercase_x": "cn_id_number", "uscc_lowercase": "cn_uscc",
          "phone_format": "cn_mobile"}


def test_demo_city_every_error_type_is_caught(settings) -> None:
    from connectors.runner import ingest_resource
    from connectors.state import StateStore
    from zhiwang.demo import generate_city
    from zhiwang.validation import load_valid_catalog

    catalog = load_valid_catalog(settings.catalog_dir)
    generate_city(settings, persons=300, seed=11, catalog=catalog)
    for rid in sorted(catalog.resources):
        ingest_resource(rid, settings=settings, catalog=catalog)

    truth = pq.read_table(settings.demo / "records.parquet").to_pylist()
    state = StateStore(settings.state_db)
    found: dict[str, set[str]] = defaultdict(set)  # injected kind → checks reported on such rows
    benign_hits: list[tuple[str, int, str]] = []
    for rid in sorted({t["resource"] for t in truth}):
        (rec,) = state.deliveries(rid)
        assert rec.status == "staged", (rid, rec.message)
        assert rec.rows_read == rec.rows_staged + rec.rows_quarantined, rid
        reported: dict[int, set[str]] = defaultdict(set)
        accepted = pq.read_table(rec.staged_path, columns=["_row_number", "_warnings"]).to_pylist()
        for row in accepted:
            reported[row["_row_number"]] |= {w["check"] for w in json.loads(row["_warnings"] or "[]")}
        quarantined = pq.read_table(quarantine_path(settings.quarantine, rid, rec.batch_id)).to_pylist() \
            if quarantine_path(settings.quarantine, rid, rec.batch_id).exists() else []
        for row in quarantined:
            reported[row["_row_number"]] |= {r["check"] for r in row["reasons"]}
        accepted_rows = {r["_row_number"] for r in accepted}
        quarantined_rows = {r["_row_number"] for r in quarantined}
        rows = [t for t in truth if t["resource"] == rid]
        assert not accepted_rows & quarantined_rows, rid
        assert accepted_rows | quarantined_rows == {t["row_number"] for t in rows}, rid  # every row accounted for
        assert {t["row_number"] for t in rows if t["expected_quarantine"]} <= quarantined_rows, rid
        checks_in_catalog = {c.name for f in catalog.resources[rid].fields for c in f.checks} | {"record_key", "parse"}
        for t in rows:
            for kind in t["noise"]:
                if kind.startswith("id_") and "id_15_digit" in t["noise"]:
                    continue  # a legacy 15-digit number has no check character: a mistyped digit cannot show
                if t["expected_quarantine"] and not kind.startswith("broken_"):
                    continue  # staging stopped the row before the gate: its other mistakes are not judged
                if kind in EXPECTED and EXPECTED[kind] in checks_in_catalog:
                    found[kind] |= reported[t["row_number"]]
                    assert EXPECTED[kind] in reported[t["row_number"]], (rid, t["row_number"], kind)
            if set(t["noise"]) & set(BENIGN) and not set(t["noise"]) & set(EXPECTED):
                hits = {BENIGN[k] for k in t["noise"] if k in BENIGN} & reported[t["row_number"]]
                benign_hits.extend((rid, t["row_number"], h) for h in hits)
    assert set(found) == set(EXPECTED), f"injected kinds never seen: {set(EXPECTED) - set(found)}"
    assert benign_hits == []  # a 15-digit ID, a lowercase x or +86 formatting is not an error
