"""Snapshot diffing on its rarer paths: a held delivery that had unchanged rows, keys repeated in a delivery
where a copy is unchanged (re-read from an earlier staged file), and an earlier staged file gone missing.

Each scenario is also run with ``ZHIWANG_SNAPSHOT_DIFF=off``: whatever diffing skips, the verdicts (what is
read, quarantined and why, accepted now or before) and the current staged version of every record must be
those of full processing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tests.connectors.test_runner import drop_csv, ingest_json, valid_id

RESOURCE_ID = "minzheng_elderly"
NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵强", "黄敏", "周杰", "吴霞", "郑浩", "孙丽"]


def person(i: int, name: str | None = None, amount: str = "300") -> list[str]:
    """A row that passes every check: 档案号 A00i, a valid ID number, a readable birth date."""
    return [f"A{i:03d}", name or NAMES[(i - 1) % len(NAMES)], valid_id(f"44030419400101{i:03d}"), "19400101", amount]


FIRST = [person(i) for i in range(1, 13)]          # A001 … A012, all accepted
BAD_DATE = ["A020", "钱多", valid_id("44030419400101020"), "不详", "300"]  # staging quarantines it (required date)


def ingest(home: Path, catalog: Path, name: str, rows: list[list[str]], encoding: str = "utf-8") -> dict:
    drop_csv(home, name, rows, encoding=encoding)
    [rec] = ingest_json(home, catalog)
    return rec


def release(home: Path, catalog: Path, batch_id: str) -> dict:
    from zhiwang.cli import app

    result = CliRunner().invoke(app, ["quality", "release", batch_id, "--steward", "王五", "--json", "--home", str(home),
                                      "--catalog", str(catalog)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def reconciles(rec: dict) -> bool:
    held = rec["rows_read"] - rec["rows_staged"] - rec["rows_quarantined"] - rec["rows_unchanged"]
    return held == 0 if rec["status"] != "held" else held > 0


def staged_rows(home: Path, batch_id: str) -> list[dict]:
    """A delivery's accepted rows, without the file's modification time (which differs between two homes)."""
    table = pq.read_table(home / "staging" / RESOURCE_ID / f"{batch_id}.parquet")
    return sorted(table.drop_columns(["_delivered_at"]).to_pylist(), key=lambda r: r["_row_number"])


def quarantined_rows(home: Path, batch_id: str) -> list[dict]:
    path = home / "quarantine" / RESOURCE_ID / f"{batch_id}.parquet"
    return pq.read_table(path).to_pylist() if path.exists() else []


def current_records(home: Path, catalog: Path) -> list[dict]:
    """What entity resolution reads: the latest staged version of every record (where it lives left out)."""
    from entity_resolution.sources import load_source_records
    from zhiwang.settings import get_settings
    from zhiwang.validation import load_valid_catalog

    table = load_source_records(get_settings(home, catalog), load_valid_catalog(catalog), "person", standardize=False)
    keep = [c for c in table.schema.names if c not in ("record_uid", "_batch_id", "_delivered_at")]
    return sorted(table.select(keep).to_pylist(), key=lambda r: r["_record_key"])


def verdicts(rec: dict) -> tuple:
    """What a delivery's rows came to, whether accepted now or (unchanged) before."""
    return rec["status"], rec["rows_read"], rec["rows_quarantined"], rec["rows_staged"] + rec["rows_unchanged"]


def diff_modes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    """Each scenario runs twice, with the snapshot diff on and off, each in its own data home: the two
    outcomes must be equal."""
    for mode in ("on", "off"):
        monkeypatch.setenv("ZHIWANG_SNAPSHOT_DIFF", mode)
        yield mode, tmp_path / mode


def test_a_held_delivery_with_unchanged_rows_is_released_whole(tmp_path: Path, own_catalog: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # delivery 2 collapses from 12 rows to 4 (held at a 50% drop); two of its rows are unchanged since delivery 1
    second_rows = [person(1), person(3, amount="999"), person(2), BAD_DATE]
    out: dict[str, dict] = {}
    for mode, home in diff_modes(tmp_path, monkeypatch):
        first = ingest(home, own_catalog, "m1.csv", FIRST)
        held = ingest(home, own_catalog, "m2.csv", second_rows)
        assert (held["status"], held["rows_read"], held["rows_staged"], held["rows_quarantined"],
                held["rows_unchanged"]) == ("held", 4, 0, 1, 0), (mode, held)
        assert reconciles(held) and "unchanged since" not in (held["message"] or "")
        # the mapped file kept for the steward holds every mappable row, the unchanged ones included
        mapped = pq.read_table(home / "staging" / RESOURCE_ID / "_mapped" / f"{held['batch_id']}.parquet")
        assert sorted(zip(mapped["_row_number"].to_pylist(), mapped["_record_key"].to_pylist(), strict=True)) == \
            [(1, "A001"), (2, "A003"), (3, "A002")], mode
        assert [r["_record_key"] for r in quarantined_rows(home, held["batch_id"])] == ["A020"]

        released = release(home, own_catalog, held["batch_id"])
        assert (released["status"], released["rows_read"], released["rows_staged"], released["rows_quarantined"],
                released["rows_unchanged"]) == ("staged", 4, 3, 1, 0), (mode, released)
        assert reconciles(released)
        assert [(r["_record_key"], r["src_津贴金额"]) for r in staged_rows(home, held["batch_id"])] == \
            [("A001", "300"), ("A003", "999"), ("A002", "300")], mode
        assert not (home / "staging" / RESOURCE_ID / "_mapped" / f"{held['batch_id']}.parquet").exists()

        # the index does not know the released delivery: the next one is processed in full, and rebuilds it
        third = ingest(home, own_catalog, "m3.csv", second_rows[:3])
        assert (third["rows_staged"], third["rows_unchanged"]) == (3, 0), (mode, third)
        fourth = ingest(home, own_catalog, "m4.csv", second_rows[:3], encoding="utf-8-sig")
        assert (fourth["rows_staged"], fourth["rows_unchanged"]) == ((0, 3) if mode == "on" else (3, 0)), (mode, fourth)
        assert all(reconciles(r) for r in (first, third, fourth))
        out[mode] = {
            "batches": [first["batch_id"], held["batch_id"], third["batch_id"]],
            "released": staged_rows(home, held["batch_id"]), "quarantine": quarantined_rows(home, held["batch_id"]),
            "current": current_records(home, own_catalog),
        }
    on, off = out["on"], out["off"]
    assert on["batches"] == off["batches"]  # the same bytes make the same batch ids
    assert on["released"] == off["released"]
    assert on["quarantine"] == off["quarantine"]
    assert on["current"] == off["current"]
    assert {r["_record_key"] for r in on["current"]} == {f"A{i:03d}" for i in range(1, 13)}


def test_a_held_delivery_with_a_repeated_unchanged_key(tmp_path: Path, own_catalog: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """An unchanged A001 and a changed A001 in one held delivery: staging re-reads the unchanged copy from
    delivery 1's staged file, the hold then maps the delivery again in full; the release quarantines both."""
    second_rows = [person(1), person(2), person(1, name="张伟伟"), BAD_DATE]
    out: dict[str, tuple] = {}
    for mode, home in diff_modes(tmp_path, monkeypatch):
        ingest(home, own_catalog, "m1.csv", FIRST)
        held = ingest(home, own_catalog, "m2.csv", second_rows)
        assert (held["status"], held["rows_read"], held["rows_quarantined"], held["rows_unchanged"]) == \
            ("held", 4, 1, 0), (mode, held)
        released = release(home, own_catalog, held["batch_id"])
        assert (released["rows_staged"], released["rows_quarantined"]) == (1, 3), (mode, released)
        assert reconciles(released)
        quarantine = quarantined_rows(home, held["batch_id"])
        checks = {r["_row_number"]: {x["check"] for x in r["reasons"]} for r in quarantine}
        assert checks == {1: {"duplicate_record_key"}, 3: {"duplicate_record_key"}, 4: {"parse"}}, mode
        out[mode] = (verdicts(released), staged_rows(home, held["batch_id"]), quarantine,
                     current_records(home, own_catalog))
    assert out["on"] == out["off"]


def test_repeated_keys_re_read_from_several_earlier_deliveries(tmp_path: Path, own_catalog: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Delivery 3 repeats keys whose accepted rows live in delivery 1 (A001) and delivery 2 (A002), one of
    them twice unchanged: every copy is quarantined with its delivered text, as full processing does."""
    second_rows = [person(1), person(2, amount="450"), *FIRST[2:]]
    third_rows = [person(1), person(2, amount="450"), person(1), *FIRST[2:], person(2, name="王芳芳")]
    out: dict[str, tuple] = {}
    for mode, home in diff_modes(tmp_path, monkeypatch):
        ingest(home, own_catalog, "m1.csv", FIRST)
        second = ingest(home, own_catalog, "m2.csv", second_rows)
        third = ingest(home, own_catalog, "m3.csv", third_rows)
        assert reconciles(second) and reconciles(third)
        if mode == "on":
            assert (second["rows_staged"], second["rows_unchanged"]) == (1, 11)
            assert (third["rows_staged"], third["rows_quarantined"], third["rows_unchanged"]) == (0, 4, 10)
        quarantine = quarantined_rows(home, third["batch_id"])
        shown = [(r["_row_number"], r["_record_key"], r["src_姓名"], r["src_身份证号"], r["src_出生日期"],
                  r["src_津贴金额"], sorted(x["check"] for x in r["reasons"])) for r in quarantine]
        assert shown == [
            (1, "A001", "张伟", person(1)[2], "19400101", "300", ["duplicate_record_key"]),
            (2, "A002", "王芳", person(2)[2], "19400101", "450", ["duplicate_record_key"]),
            (3, "A001", "张伟", person(1)[2], "19400101", "300", ["duplicate_record_key"]),
            (14, "A002", "王芳芳", person(2)[2], "19400101", "300", ["duplicate_record_key"]),
        ], mode
        out[mode] = (verdicts(second), verdicts(third), quarantine, current_records(home, own_catalog))
    assert out["on"] == out["off"]


def test_a_repeated_key_across_read_batches(home: Path, own_catalog: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The two copies of a key arrive in different read batches: the repeat is still found at the end."""
    import connectors.staging as staging

    real = staging.read_batches

    def one_row_at_a_time(*args, **kwargs):
        for batch in real(*args, **kwargs):
            for i in range(batch.num_rows):
                yield batch.slice(i, 1)

    monkeypatch.setattr(staging, "read_batches", one_row_at_a_time)
    ingest(home, own_catalog, "m1.csv", FIRST[:4])
    second = ingest(home, own_catalog, "m2.csv", [person(1), person(2), person(3), person(4), person(1, amount="1")])
    assert (second["rows_read"], second["rows_staged"], second["rows_quarantined"], second["rows_unchanged"]) == \
        (5, 0, 2, 3)
    assert sorted(r["_row_number"] for r in quarantined_rows(home, second["batch_id"])) == [1, 5]


def test_a_missing_earlier_staged_file_means_full_processing(home: Path, own_catalog: Path) -> None:
    """A staged file the ledger counts is gone (deleted by hand, a partial restore): rows unchanged since that
    delivery are staged again rather than skipped, since nothing downstream could read them any more."""
    first = ingest(home, own_catalog, "m1.csv", FIRST[:4])
    (home / "staging" / RESOURCE_ID / f"{first['batch_id']}.parquet").unlink()
    second = ingest(home, own_catalog, "m2.csv", [person(1), person(2), person(3), person(4, amount="1"), person(1)])
    assert (second["rows_read"], second["rows_staged"], second["rows_quarantined"], second["rows_unchanged"]) == \
        (5, 3, 2, 0), second
    assert first["batch_id"] in second["message"] and "missing" in second["message"]
    assert {r["_record_key"] for r in current_records(home, own_catalog)} == {"A002", "A003", "A004"}
    third = ingest(home, own_catalog, "m3.csv", [person(2), person(3), person(4, amount="1")])
    assert (third["rows_staged"], third["rows_unchanged"]) == (0, 3), third  # the index is whole again


def test_a_staged_file_vanishing_while_a_delivery_is_read(home: Path, own_catalog: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Between loading the index and re-reading a repeated key the staged file went: the error names the file
    and says to ingest again, which then processes the delivery (left landed, not lost) in full."""
    import connectors.runner as runner
    from connectors import snapshot
    from zhiwang.errors import UserError

    first = ingest(home, own_catalog, "m1.csv", FIRST[:4])
    staged_file = home / "staging" / RESOURCE_ID / f"{first['batch_id']}.parquet"
    real = snapshot.load_index

    def load_then_lose_the_file(*args, **kwargs):
        index = real(*args, **kwargs)
        assert index.table is not None
        staged_file.unlink()
        return index

    monkeypatch.setattr(snapshot, "load_index", load_then_lose_the_file)
    drop_csv(home, "m2.csv", [person(1), person(2), person(3), person(4, amount="1"), person(1)])
    with pytest.raises(UserError, match="disappeared while a new delivery was read") as caught:
        runner.ingest_resource(RESOURCE_ID)
    assert str(staged_file) in str(caught.value) and "run the ingest again" in str(caught.value)
    monkeypatch.setattr(snapshot, "load_index", real)
    [second] = runner.ingest_resource(RESOURCE_ID)
    assert (second.status, second.rows_read, second.rows_staged, second.rows_quarantined, second.rows_unchanged) == \
        ("staged", 5, 3, 2, 0)


def test_a_delivery_while_another_is_held_stays_current_after_the_release(tmp_path: Path, own_catalog: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Delivery 2 (A003 renamed) is held; delivery 3 brings A003 back as accepted in delivery 1, and only then
    is delivery 2 released. Downstream takes each record from the latest staged delivery in ledger order
    (delivery 3 after 2), so delivery 3 must hold A003 itself: skipping it as unchanged since delivery 1 would
    let the released delivery 2's older name win."""
    import datetime as dt
    import itertools

    import connectors.runner as runner

    second_rows = [person(1), person(3, name="李娜娜"), person(2)]
    third_rows = [*FIRST[:4], person(5, name="陈静静"), *FIRST[5:]]
    out: dict[str, tuple] = {}
    for mode, home in diff_modes(tmp_path, monkeypatch):
        clock = itertools.count()  # one minute apart: the ledger orders deliveries by ingested_at (whole seconds)
        monkeypatch.setattr(runner, "_now", lambda c=clock: (dt.datetime(2026, 11, 1, 9) + dt.timedelta(minutes=next(c)))
                            .isoformat(timespec="seconds"))
        ingest(home, own_catalog, "m1.csv", FIRST)
        held = ingest(home, own_catalog, "m2.csv", second_rows)
        assert held["status"] == "held"
        third = ingest(home, own_catalog, "m3.csv", third_rows)
        assert reconciles(third)
        if mode == "on":  # only the keys the held delivery could still stage are staged again
            assert (third["rows_staged"], third["rows_unchanged"]) == (4, 8), third
        released = release(home, own_catalog, held["batch_id"])
        assert (released["status"], released["rows_staged"]) == ("staged", 3)
        current = current_records(home, own_catalog)
        assert {r["_record_key"]: r["name"] for r in current if r["_record_key"] in ("A003", "A005")} == \
            {"A003": "李娜", "A005": "陈静静"}, mode
        fourth = ingest(home, own_catalog, "m4.csv", third_rows, encoding="utf-8-sig")
        assert (fourth["rows_staged"], fourth["rows_unchanged"]) == (12, 0), (mode, fourth)  # index rebuilt
        out[mode] = (verdicts(third), current, current_records(home, own_catalog))
    assert out["on"] == out["off"]
