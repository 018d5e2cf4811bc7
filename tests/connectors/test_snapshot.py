"""Snapshot diffing: a full redelivery validates and stages only the rows that changed (connectors/snapshot.py)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from tests.connectors.test_runner import HEADER, RESOURCE, ROWS, drop_csv, ingest_json, valid_id

GOOD = ROWS[:3]  # A001, A002, A003 (A003 accepted with a warning)
BAD = ROWS[3:]   # no record key, unparseable required date, missing required name


def deliver(home: Path, catalog: Path, name: str, rows: list[list[str]], encoding: str = "utf-8") -> dict:
    """Drop one file and ingest it (pass another encoding to redeliver the same rows as new bytes)."""
    drop_csv(home, name, rows, encoding=encoding)
    [rec] = ingest_json(home, catalog)
    assert rec["rows_read"] == rec["rows_staged"] + rec["rows_quarantined"] + rec["rows_unchanged"], rec
    return rec


def staged(home: Path, rec: dict) -> list[dict]:
    return pq.read_table(home / "staging" / "minzheng_elderly" / f"{rec['batch_id']}.parquet").to_pylist()


def quarantined(home: Path, rec: dict) -> dict[str | None, list[tuple]]:
    path = home / "quarantine" / "minzheng_elderly" / f"{rec['batch_id']}.parquet"
    if not path.exists():
        return {}
    return {r["_record_key"]: sorted((x["check"], x["column"], x["message"], x["value"]) for x in r["reasons"])
            for r in pq.read_table(path).to_pylist()}


def index_file(home: Path) -> Path:
    return home / "staging" / "minzheng_elderly" / "_index" / "accepted_rows.parquet"


def test_identical_redelivery_is_all_unchanged(home: Path, own_catalog: Path) -> None:
    first = deliver(home, own_catalog, "m1.csv", GOOD)
    assert (first["rows_staged"], first["rows_unchanged"]) == (3, 0)
    second = deliver(home, own_catalog, "m2.csv", list(reversed(GOOD)))  # other bytes, same rows
    assert (second["status"], second["rows_read"], second["rows_staged"], second["rows_quarantined"],
            second["rows_unchanged"]) == ("staged", 3, 0, 0, 3)
    assert "unchanged since the last delivery" in second["message"]
    assert staged(home, second) == []
    assert quarantined(home, second) == {}


def test_one_changed_row_is_the_only_one_staged(home: Path, own_catalog: Path) -> None:
    from entity_resolution.sources import load_source_records
    from zhiwang.settings import get_settings
    from zhiwang.validation import load_valid_catalog

    first = deliver(home, own_catalog, "m1.csv", GOOD)
    changed = [list(r) for r in GOOD]
    changed[1][1] = "王芳芳"
    second = deliver(home, own_catalog, "m2.csv", changed)
    assert (second["rows_staged"], second["rows_unchanged"], second["rows_quarantined"]) == (1, 2, 0)
    assert [(r["_record_key"], r["name"]) for r in staged(home, second)] == [("A002", "王芳芳")]
    # downstream sees the current version of every record: the changed one from delivery 2, the rest from 1
    settings = get_settings(home, own_catalog)
    records = load_source_records(settings, load_valid_catalog(own_catalog), "person", standardize=False)
    current = {k: (n, b) for k, n, b in zip(records["_record_key"].to_pylist(), records["name"].to_pylist(),
                                            records["_batch_id"].to_pylist(), strict=True)}
    assert current == {"A001": ("张伟", first["batch_id"]), "A002": ("王芳芳", second["batch_id"]),
                       "A003": ("李娜", first["batch_id"])}


def test_a_row_changed_back_is_staged_again(home: Path, own_catalog: Path) -> None:
    deliver(home, own_catalog, "m1.csv", GOOD)
    changed = [list(r) for r in GOOD]
    changed[0][4] = "999"
    assert deliver(home, own_catalog, "m2.csv", changed)["rows_staged"] == 1
    third = deliver(home, own_catalog, "m3.csv", GOOD, encoding="utf-8-sig")  # A001 as in delivery 1: it differs from the current one
    assert (third["rows_staged"], third["rows_unchanged"]) == (1, 2)
    assert [r["src_津贴金额"] for r in staged(home, third)] == ["300.5"]


def test_quarantined_rows_redelivered_unchanged_are_quarantined_again(home: Path, own_catalog: Path) -> None:
    first = deliver(home, own_catalog, "m1.csv", ROWS)
    second = deliver(home, own_catalog, "m2.csv", list(reversed(ROWS)))
    assert (second["rows_staged"], second["rows_quarantined"], second["rows_unchanged"]) == (0, 3, 3)
    assert quarantined(home, first) and quarantined(home, second) == quarantined(home, first)


def test_a_key_quarantined_since_its_acceptance_is_judged_again(home: Path, own_catalog: Path) -> None:
    from quality.scorecard import quarantine_entries
    from zhiwang.settings import get_settings

    deliver(home, own_catalog, "m1.csv", GOOD)
    broken = [list(r) for r in GOOD]
    broken[0][3] = "不详"  # A001's required birth date becomes unreadable
    second = deliver(home, own_catalog, "m2.csv", broken)
    assert (second["rows_quarantined"], second["rows_unchanged"]) == (1, 2)
    third = deliver(home, own_catalog, "m3.csv", GOOD, encoding="utf-8-sig")  # the department fixes it back to the accepted value
    assert (third["rows_staged"], third["rows_unchanged"]) == (1, 2)
    [entry] = quarantine_entries(get_settings(home, own_catalog), "minzheng_elderly")
    assert entry["status"] == "superseded" and entry["superseded_by"] == third["batch_id"]


def test_duplicates_across_unchanged_and_changed_rows_are_found(home: Path, own_catalog: Path) -> None:
    deliver(home, own_catalog, "m1.csv", GOOD)
    again = [*GOOD, ["A001", "张伟", valid_id("44030419500505001"), "19500505", "100"]]  # a second A001
    second = deliver(home, own_catalog, "m2.csv", again)
    assert (second["rows_staged"], second["rows_quarantined"], second["rows_unchanged"]) == (0, 2, 2)
    reasons = quarantined(home, second)
    assert list(reasons) == ["A001"] and {r[0] for r in reasons["A001"]} == {"duplicate_record_key"}
    rows = pq.read_table(home / "quarantine" / "minzheng_elderly" / f"{second['batch_id']}.parquet")
    assert sorted(rows["_row_number"].to_pylist()) == [1, 4]  # the unchanged A001 too, not only the new one


def test_missing_or_corrupt_index_means_full_processing(home: Path, own_catalog: Path) -> None:
    deliver(home, own_catalog, "m1.csv", GOOD)
    index_file(home).unlink()
    second = deliver(home, own_catalog, "m2.csv", list(reversed(GOOD)))
    assert (second["rows_staged"], second["rows_unchanged"]) == (3, 0)
    assert index_file(home).exists()  # written afresh from the delivery
    index_file(home).write_bytes(b"not parquet")
    third = deliver(home, own_catalog, "m3.csv", GOOD, encoding="utf-8-sig")
    assert (third["rows_staged"], third["rows_unchanged"]) == (3, 0)
    assert "unreadable" in third["message"]
    fourth = deliver(home, own_catalog, "m4.csv", list(reversed(GOOD)), encoding="gb18030")
    assert (fourth["rows_staged"], fourth["rows_unchanged"]) == (0, 3)


def test_an_index_not_covering_the_ledger_is_ignored(home: Path, own_catalog: Path) -> None:
    from connectors.snapshot import load_index
    from zhiwang.validation import load_valid_catalog

    first = deliver(home, own_catalog, "m1.csv", GOOD)
    resource = load_valid_catalog(own_catalog).resource("minzheng_elderly")
    assert load_index(home / "staging", resource, [first["batch_id"]]).table is not None
    # e.g. a crash after the index was written but before the ledger said "staged", or a released held delivery
    assert load_index(home / "staging", resource, []).table is None
    assert load_index(home / "staging", resource, [first["batch_id"], "minzheng_elderly-other"]).table is None


def test_a_mapping_change_means_full_processing(home: Path, own_catalog: Path) -> None:
    deliver(home, own_catalog, "m1.csv", GOOD)
    entry = {**RESOURCE, "fields": [dict(f) for f in RESOURCE["fields"]]}
    entry["fields"][4]["maps_to"] = None
    entry["fields"][4]["type"] = "string"  # 津贴金额 is now kept as text
    (own_catalog / "resources" / "minzheng_elderly.yaml").write_text(yaml.safe_dump(entry, allow_unicode=True), encoding="utf-8")
    second = deliver(home, own_catalog, "m2.csv", list(reversed(GOOD)))
    assert (second["rows_staged"], second["rows_unchanged"]) == (3, 0)
    assert "mapping changed" in second["message"]
    third = deliver(home, own_catalog, "m3.csv", GOOD, encoding="utf-8-sig")
    assert (third["rows_staged"], third["rows_unchanged"]) == (0, 3)


def test_the_switch_off_processes_every_row(home: Path, own_catalog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deliver(home, own_catalog, "m1.csv", GOOD)
    monkeypatch.setenv("ZHIWANG_SNAPSHOT_DIFF", "off")
    second = deliver(home, own_catalog, "m2.csv", list(reversed(GOOD)))
    assert (second["rows_staged"], second["rows_unchanged"]) == (3, 0)
    monkeypatch.setenv("ZHIWANG_SNAPSHOT_DIFF", "on")  # the index was kept current meanwhile
    third = deliver(home, own_catalog, "m3.csv", GOOD, encoding="utf-8-sig")
    assert (third["rows_staged"], third["rows_unchanged"]) == (0, 3)
    monkeypatch.setenv("ZHIWANG_SNAPSHOT_DIFF", "sometimes")
    from typer.testing import CliRunner

    from zhiwang.cli import app

    drop_csv(home, "m4.csv", list(reversed(GOOD)), encoding="utf-8-sig")
    result = CliRunner().invoke(app, ["ingest", "--json", "--home", str(home), "--catalog", str(own_catalog)])
    assert result.exit_code != 0 and "ZHIWANG_SNAPSHOT_DIFF" in result.output


def test_formats_hash_alike(home: Path, own_catalog: Path) -> None:
    """The hash is of the delivered text: the same rows as GB18030 CSV, JSONL and XLSX are unchanged."""
    import json

    import openpyxl

    drop_csv(home, "gb.csv", GOOD, encoding="gb18030")
    inbox = home / "inbox" / "minzheng_elderly"
    assert [r["rows_staged"] for r in ingest_json(home, own_catalog)] == [3]
    wb = openpyxl.Workbook()
    wb.active.append(HEADER)
    for r in GOOD:
        wb.active.append(r)
    wb.save(inbox / "x.xlsx")
    with open(inbox / "j.jsonl", "w", encoding="utf-8") as fh:
        for r in GOOD:
            fh.write(json.dumps(dict(zip(HEADER, r, strict=True)), ensure_ascii=False) + "\n")
    later = ingest_json(home, own_catalog)
    assert [(r["rows_staged"], r["rows_unchanged"]) for r in later] == [(0, 3), (0, 3)]


def test_scorecard_and_feedback_count_unchanged_rows_as_accepted(home: Path, own_catalog: Path) -> None:
    import openpyxl

    from quality.feedback import feedback_paths
    from quality.scorecard import scorecard
    from zhiwang.settings import get_settings
    from zhiwang.validation import load_valid_catalog

    deliver(home, own_catalog, "m1.csv", ROWS)
    second = deliver(home, own_catalog, "m2.csv", list(reversed(ROWS)))
    settings = get_settings(home, own_catalog)
    [card] = scorecard(settings, load_valid_catalog(own_catalog))
    assert (card["rows_read"], card["rows_accepted"], card["rows_unchanged"]) == (12, 6, 3)
    assert card["acceptance_rate"] == 0.5 and [t["acceptance_rate"] for t in card["trend"]] == [0.5, 0.5]
    xlsx, _ = feedback_paths(settings, "minzheng", second["batch_id"])
    summary = dict(openpyxl.load_workbook(xlsx)["概要"].iter_rows(values_only=True))
    assert summary["未变更行数"] == 3 and "unchanged since the last delivery" in summary["未变更说明"]
    assert summary["隔离行数"] == 3 and summary["已入库行数"] == 0


def test_a_ledger_from_before_rows_unchanged_gains_the_column(tmp_path: Path) -> None:
    import sqlite3

    from connectors.state import DeliveryRecord, StateStore

    path = tmp_path / "state.sqlite"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE deliveries (batch_id TEXT PRIMARY KEY, resource TEXT NOT NULL, provider TEXT, file TEXT, "
                    "sha256 TEXT, landed_path TEXT, staged_path TEXT, rows_read INTEGER NOT NULL DEFAULT 0, "
                    "rows_staged INTEGER NOT NULL DEFAULT 0, rows_quarantined INTEGER NOT NULL DEFAULT 0, "
                    "rows_warned INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL, message TEXT, delivered_at TEXT, "
                    "ingested_at TEXT, landed_meta TEXT)")
        con.execute("INSERT INTO deliveries (batch_id, resource, file, rows_read, rows_staged, status) "
                    "VALUES ('r-old', 'r', 'old.csv', 5, 5, 'staged')")
    state = StateStore(path)
    assert state.delivery("r-old").rows_unchanged == 0
    state.record(DeliveryRecord(resource="r", batch_id="r-new", file="new.csv", rows_read=5, rows_staged=1,
                                rows_quarantined=0, rows_unchanged=4, status="staged"))
    assert [d.rows_unchanged for d in state.deliveries("r")] == [0, 4]


def test_rows_hashed_in_groups_get_the_hashes_of_their_own_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Staging hashes several read batches in one query (``HASH_ROWS``): each batch gets exactly the hashes
    hashing it alone gives, whatever the group boundaries (empty batches and absent columns included)."""
    from types import SimpleNamespace

    import pyarrow as pa

    from connectors import staging
    from connectors.snapshot import DeliveryDiff

    def batch(keys: list[str | None], names: list[str | None]) -> pa.RecordBatch:
        return pa.RecordBatch.from_pydict({"档案号": pa.array(keys, pa.string()), "姓名": pa.array(names, pa.string())})

    batches = [batch(["A1", "A2", "A3"], ["张伟", None, ""]), batch([], []), batch(["A4", None], ["李娜", "王芳"]),
               batch([f"B{i}" for i in range(5)], ["x"] * 5)]
    columns = ["档案号", "姓名", "缺失列"]  # a catalog column the file lacks hashes as null
    seen: list[pa.RecordBatch] = []
    with DeliveryDiff(tmp_path, SimpleNamespace(id="r"), None, "r-1") as diff:  # type: ignore[arg-type]
        alone = [diff.hash({staging.src(c): staging._column(b, c).cast(pa.string()) for c in columns}) for b in batches]
        for group_rows in (1, 4, 6, 100_000):
            monkeypatch.setattr(staging, "HASH_ROWS", group_rows)
            pairs = list(staging._hashed(iter(batches), lambda b: seen.append(b) or columns, diff))
            assert [b for b, _ in pairs] == batches
            assert [h.to_pylist() for _, h in pairs] == [h.to_pylist() for h in alone], group_rows
    assert seen == [batches[0]] * 4  # the columns are learnt from the first batch, once per delivery


def test_small_read_batches_hashed_in_groups_stage_the_same(home: Path, own_catalog: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A delivery read in one-row batches and hashed two rows at a time stages, quarantines and indexes
    exactly what the usual reading does (first delivery and a redelivery with a changed row)."""
    import pyarrow as pa

    from connectors import staging
    from connectors.formats import read_batches
    from connectors.formats.common import sliced

    changed = [list(r) for r in ROWS]
    changed[0][1] = "张伟伟"
    results = []
    for where, batch_rows in ((home, None), (tmp_path / "batched", 1)):
        where.mkdir(exist_ok=True)
        if batch_rows:
            monkeypatch.setattr(staging, "HASH_ROWS", 2)
            monkeypatch.setattr(staging, "read_batches", lambda landed: (
                piece for b in read_batches(landed) for piece in sliced(b, 1)))
        recs = [deliver(where, own_catalog, "m1.csv", ROWS), deliver(where, own_catalog, "m2.csv", changed)]
        results.append((
            [{k: r[k] for k in ("batch_id", "rows_read", "rows_staged", "rows_quarantined", "rows_unchanged")} for r in recs],
            [[{k: v for k, v in row.items() if k != "_delivered_at"} for row in staged(where, r)] for r in recs],
            [quarantined(where, r) for r in recs],
            pq.read_table(index_file(where)),
        ))
    (counts, rows, held, index), (counts_b, rows_b, held_b, index_b) = results
    assert counts == counts_b and counts[1]["rows_staged"] == 1 and counts[1]["rows_unchanged"] == 2
    assert rows == rows_b and held == held_b
    assert index.equals(index_b) and isinstance(index, pa.Table)


def test_known_hashes_are_found_whatever_their_order(tmp_path: Path) -> None:
    """``DeliveryDiff.known`` looks the hashes up sorted (cheaper) but answers in delivery order, exactly as a
    lookup of each hash on its own: repeated hashes, hashes below and above every indexed one, an empty batch."""
    from types import SimpleNamespace

    import numpy as np
    import pyarrow as pa

    from connectors.snapshot import INDEX_SCHEMA, DeliveryDiff, SnapshotIndex

    rng = np.random.default_rng(7)
    indexed = rng.integers(1, 2**64 - 2, 5_000, dtype=np.uint64)
    table = pa.table({"record_key": [f"K{i}" for i in range(len(indexed))], "row_hash": indexed,
                      "batch_id": ["r-0"] * len(indexed)}, schema=INDEX_SCHEMA)
    resource = SimpleNamespace(id="r")
    with DeliveryDiff(tmp_path, resource, SnapshotIndex(table, ["r-0"], None), "r-1") as diff:  # type: ignore[arg-type]
        assert diff.skipping
        values = np.concatenate([rng.choice(indexed, 3_000), rng.integers(1, 2**64 - 2, 1_000, dtype=np.uint64),
                                 np.array([0, 2**64 - 1, indexed.min(), indexed.max()], dtype=np.uint64)])
        rng.shuffle(values)
        expected = np.isin(values, indexed)
        assert expected.sum() >= 3_000 and not expected.all()
        assert (diff.known(pa.array(values, pa.uint64())) == expected).all()
        assert diff.known(pa.array([], pa.uint64())).tolist() == []


def test_index_rows_keep_the_delivery_order(tmp_path: Path, own_catalog: Path) -> None:
    """The index lists a delivery's accepted rows in row order, run after run (a multi-threaded join alone
    returns them in an order that changes between runs)."""
    import numpy as np
    import pyarrow as pa

    from connectors import snapshot
    from zhiwang.validation import load_valid_catalog

    resource = load_valid_catalog(own_catalog).resource("minzheng_elderly")
    n = 400_000
    rows = np.arange(n, dtype=np.int64)
    hashes = pa.table({"_row_number": rows, "_record_key": pa.array([f"K{i:07d}" for i in range(n)]),
                       "row_hash": pa.array(rows.astype(np.uint64) * 7919)})
    accepted = tmp_path / "accepted.parquet"
    pq.write_table(pa.table({"_row_number": np.random.default_rng(3).permutation(rows)}), accepted)
    written = []
    for run in range(3):
        staging = tmp_path / f"staging{run}"
        path = snapshot.update_index(staging, resource, "b1", snapshot.SnapshotIndex(None, [], None), hashes, accepted,
                                     [], [])
        written.append(pq.read_table(path).column("record_key"))
    assert written[0].to_pylist() == hashes.column("_record_key").to_pylist()
    assert all(w.equals(written[0]) for w in written)
