"""Resources ingested in worker processes give what one process gives: the same ledger, the same staged rows."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.slow
CATALOG = Path(__file__).resolve().parents[2] / "catalog"


def _ingest(home: Path, workers: str, monkeypatch: pytest.MonkeyPatch, progress_seen: list[str] | None = None):
    from zhiwang.demo import generate_city
    from zhiwang.pipeline import ingest_all
    from zhiwang.settings import get_settings
    from zhiwang.validation import load_valid_catalog

    settings = get_settings(home, CATALOG)
    catalog = load_valid_catalog(settings.catalog_dir)
    generate_city(settings, persons=600, seed=5, delivery=1, catalog=catalog)
    monkeypatch.setenv("ZHIWANG_INGEST_WORKERS", workers)
    seen: list[str] = []

    def progress(ids, total):
        assert total == len(catalog.resources)
        for rid in ids:
            (progress_seen if progress_seen is not None else []).append(rid)
            yield rid

    records = ingest_all(settings, catalog, on_delivery=lambda rec: seen.append(rec.batch_id), progress=progress)
    return settings, records, seen


def _staged(settings) -> dict[str, list[tuple]]:
    out = {}
    for path in sorted(settings.staging.glob("*/*.parquet")):
        table = pq.read_table(path).drop_columns(["_delivered_at"])
        out[path.relative_to(settings.staging).as_posix()] = sorted((tuple(r.values()) for r in table.to_pylist()), key=repr)
    return out


def test_two_workers_ingest_what_one_process_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one, seq, seq_seen = _ingest(tmp_path / "one", "1", monkeypatch)
    order: list[str] = []
    two, par, par_seen = _ingest(tmp_path / "two", "2", monkeypatch, order)
    counts = lambda recs: [(r.resource, r.status, r.rows_read, r.rows_staged, r.rows_quarantined, r.rows_unchanged)  # noqa: E731
                           for r in recs]
    assert counts(par) == counts(seq)  # in resource order, whatever order the workers finished in
    assert sorted(par_seen) == sorted(r.batch_id for r in par)  # every delivery reported to the caller
    assert sorted(order) == sorted({r.resource for r in par})
    assert _staged(two) == _staged(one)
    from connectors.state import StateStore

    ledger = StateStore(two.state_db).deliveries()
    assert sorted(r.batch_id for r in ledger) == sorted(r.batch_id for r in par)
    assert all(r.rows_read == r.rows_staged + r.rows_quarantined + r.rows_unchanged for r in ledger)


def test_a_worker_setting_that_is_not_a_number_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from zhiwang.errors import ConfigError
    from zhiwang.pipeline import _waiting_bytes, ingest_workers
    from zhiwang.settings import get_settings
    from zhiwang.validation import load_valid_catalog

    settings = get_settings(tmp_path, CATALOG)
    catalog = load_valid_catalog(settings.catalog_dir)
    waiting = sum(_waiting_bytes(settings, rid) for rid in catalog.resources)
    monkeypatch.setenv("ZHIWANG_INGEST_WORKERS", "two")
    with pytest.raises(ConfigError, match="ZHIWANG_INGEST_WORKERS='two'"):
        ingest_workers(waiting)
    monkeypatch.setenv("ZHIWANG_INGEST_WORKERS", "auto")
    assert ingest_workers(waiting) == 1  # empty inboxes: not worth a process


def test_python_dash_m_zhiwang_ingests_with_workers(tmp_path: Path) -> None:
    """The command line as users run it: workers spawned from ``python -m zhiwang`` (a bare main module, which
    pyspark's Spark Connect, imported by Great Expectations, once took for a doctest run and exited on)."""
    import json
    import os
    import subprocess
    import sys

    from zhiwang.demo import generate_city
    from zhiwang.settings import get_settings
    from zhiwang.validation import load_valid_catalog

    settings = get_settings(tmp_path, CATALOG)
    generate_city(settings, persons=300, seed=2, delivery=1, catalog=load_valid_catalog(CATALOG))
    done = subprocess.run([sys.executable, "-m", "zhiwang", "ingest", "--json", "--home", str(tmp_path),
                           "--catalog", str(CATALOG)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "ZHIWANG_INGEST_WORKERS": "2"}, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 9 and all(line["status"] == "staged" and line["rows_staged"] > 0 for line in lines), done.stdout


def test_errors_cross_from_a_worker_whole() -> None:
    """A worker's error reaches the parent by pickle: it must come back with its message and its problems."""
    import pickle

    from connectors.formats.common import UnreadableFileError
    from zhiwang.errors import Problem, ProblemsError

    several = ProblemsError("catalog/resources/x.yaml has 2 problems:", [Problem("x.yaml: a", "bad"), Problem("x.yaml: b", "worse")])
    back = pickle.loads(pickle.dumps(several))
    assert type(back) is ProblemsError and str(back) == str(several) and back.problems == several.problems
    one = UnreadableFileError("f.csv: row 3 has 4 fields, the header 5")
    assert str(pickle.loads(pickle.dumps(one))) == str(one)
