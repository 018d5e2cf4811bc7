"""The whole chain on a small demo city: ingest → resolve → publish → mirrors, twice, nothing lost."""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory):
    from zhiwang.demo import generate_city
    from zhiwang.pipeline import run_all
    from zhiwang.settings import get_settings
    from zhiwang.validation import load_valid_catalog

    home = tmp_path_factory.mktemp("city")
    settings = get_settings(home, Path(__file__).resolve().parents[2] / "catalog")
    catalog = load_valid_catalog(settings.catalog_dir)
    runs = []
    for delivery in (1, 2):
        generate_city(settings, persons=1500, seed=11, delivery=delivery, catalog=catalog)
        runs.append(run_all(settings, catalog))
    return settings, catalog, runs


def test_every_accepted_record_is_in_xref_exactly_once(city) -> None:
    from entity_resolution.sources import load_source_records
    from warehouse.registry import read_table

    settings, catalog, runs = city
    assert [r.extra["release"] for r in runs] == [1, 2]
    xref = read_table(settings, "xref")
    for entity in ("person", "legal_entity", "building"):
        records = load_source_records(settings, catalog, entity)
        mine = xref.filter(pc.equal(xref.column("entity"), entity))
        keys = {(r, k) for r, k in zip(mine.column("resource").to_pylist(), mine.column("record_key").to_pylist(), strict=True)}
        assert len(keys) == mine.num_rows, f"{entity}: a record is in xref twice"
        expected = set(zip(records.column("_resource").to_pylist(), records.column("_record_key").to_pylist(), strict=True))
        assert keys == expected, f"{entity}: xref and accepted records differ"


def test_counts_reconcile_for_every_delivery(city) -> None:
    _, _, runs = city
    for run in runs:
        for d in run.deliveries:
            assert d.rows_read == d.rows_staged + d.rows_quarantined + d.rows_unchanged, d


def test_golden_ids_are_stable_across_deliveries(city) -> None:
    from warehouse.registry import read_table

    settings, _, _ = city
    before = read_table(settings, "xref", release=1)
    after = read_table(settings, "xref", release=2)
    old = dict(zip(zip(before.column("resource").to_pylist(), before.column("record_key").to_pylist(), strict=True),
                   before.column("golden_id").to_pylist(), strict=True))
    new = dict(zip(zip(after.column("resource").to_pylist(), after.column("record_key").to_pylist(), strict=True),
                   after.column("golden_id").to_pylist(), strict=True))
    common = [k for k in old if k in new]
    kept = sum(old[k] == new[k] for k in common)
    assert common and kept / len(common) >= 0.99


def test_mirrors_hold_only_their_districts_rows(city) -> None:
    from deltalake import DeltaTable

    settings, catalog, _ = city
    for code in catalog.districts:
        table = DeltaTable(str(settings.mirrors / code / "person")).to_pyarrow_table()
        assert set(table.column("district_code").to_pylist()) <= {code}


def test_publish_stage_is_idempotent_and_refuses_a_stale_release(city) -> None:
    from entity_resolution.pipeline import next_release, publish_stage, resolve_entity_stage
    from zhiwang.errors import UserError

    settings, catalog, _ = city
    assert publish_stage(settings, catalog, 2)["already_published"] is True  # a retry after the commit
    stale = next_release(settings)
    resolve_entity_stage(settings, catalog, "building", stale)
    with pytest.raises(UserError, match="were not resolved"):
        publish_stage(settings, catalog, stale)


def test_a_run_with_nothing_new_keeps_the_current_release(city) -> None:
    from warehouse.registry import current_release
    from zhiwang.pipeline import run_all

    settings, catalog, _ = city
    summary = run_all(settings, catalog)
    assert summary.deliveries == []
    assert summary.extra["release"] is None and summary.extra["unchanged_release"] == 2
    assert current_release(settings).number == 2


def test_splink_charts_for_stewards_render_offline(city) -> None:
    import re

    from entity_resolution.charts import charts_dir

    settings, _, _ = city
    for entity in ("person", "legal_entity", "building"):
        folder = charts_dir(settings, entity)
        names = {p.name for p in folder.glob("*.html")}
        assert {"match_weights.html", "m_u_parameters.html", "waterfall_uncertain_pairs.html", "cluster_studio.html"} <= names
        for page in folder.glob("*.html"):
            html = page.read_text(encoding="utf-8")
            assert not re.search(r"<script[^>]+src=[\"']https?://", html), f"{page} loads a script from the internet"


def test_charts_are_drawn_again_only_when_their_sample_or_model_changed(city, monkeypatch) -> None:
    import pyarrow as pa

    from entity_resolution import charts
    from entity_resolution.sources import load_source_records

    settings, catalog, _ = city
    records = load_source_records(settings, catalog, "person")
    folder = charts.charts_dir(settings, "person")
    drawn = {p: p.stat().st_mtime_ns for p in folder.glob("*.html")}
    written = charts.write_charts(settings, "person", records)  # as the last run drew them: kept
    assert all(p.stat().st_mtime_ns == t for p, t in drawn.items())
    assert set(written) == {folder / n for n in ("match_weights.html", "m_u_parameters.html",
                                                  "waterfall_uncertain_pairs.html", "cluster_studio.html")}
    # the sample is the first records by uid, however the records come ordered
    shuffled = records.take(pa.array(range(records.num_rows - 1, -1, -1)))
    assert charts.write_charts(settings, "person", shuffled, sample=500) == charts.write_charts(
        settings, "person", records, sample=500)
    times = {p: p.stat().st_mtime_ns for p in folder.glob("*.html")}
    assert charts.write_charts(settings, "person", records, sample=500) and all(
        p.stat().st_mtime_ns == t for p, t in times.items())
    # a record of the sample changed: drawn again; a chart file gone: drawn again
    changed = records.set_column(records.schema.get_field_index("name"), "name",
                                 pa.array(["改名"] + records.column("name").to_pylist()[1:]))
    charts.write_charts(settings, "person", changed, sample=500)
    assert all(p.stat().st_mtime_ns != t for p, t in times.items())
    (folder / "match_weights.html").unlink()
    assert (folder / "match_weights.html") in charts.write_charts(settings, "person", changed, sample=500)


def test_incremental_scoring_equals_scoring_everything(city, tmp_path) -> None:
    """Delivery 2 was scored incrementally; scoring all its records afresh finds the same pairs."""
    import dataclasses

    from entity_resolution import incremental
    from entity_resolution.sources import load_source_records

    settings, catalog, runs = city
    assert runs[1].extra["entities"]["person"]["match_mode"] == "incremental"
    assert 0 < runs[1].extra["entities"]["person"]["rescored"] < runs[1].extra["entities"]["person"]["records"]
    for entity in ("person", "legal_entity", "building"):
        records = load_source_records(settings, catalog, entity)
        again = incremental.score(settings, entity, records)       # from the cache of release 2: nothing changed
        assert again.mode == "incremental" and again.rescored == 0
        fresh = incremental.score(dataclasses.replace(settings, home=tmp_path / entity), entity, records)
        assert fresh.mode == "full"

        def pairs(table):  # noqa: ANN001, ANN202
            rows = zip(table.column("record_uid_l").to_pylist(), table.column("record_uid_r").to_pylist(),
                       table.column("match_probability").to_pylist(), strict=True)
            return {(min(a, b), max(a, b)): round(p, 6) for a, b, p in rows}

        assert pairs(again.pairs) == pairs(fresh.pairs), entity


def test_links_of_an_incremental_release_equal_links_made_afresh(city) -> None:
    """Release 2's links, made from release 1's person keys and the rebuilt persons only, are the links of
    its golden tables made from nothing."""
    import json

    from entity_resolution.links import LINK_SCHEMA, build_links
    from entity_resolution.pipeline import _person_view_code, _person_view_dir
    from warehouse.registry import read_table

    settings, _, runs = city
    assert runs[1].extra["entities"]["person"]["resolve_mode"] == "incremental"
    golden = [read_table(settings, e, release=2) for e in ("person", "legal_entity", "building")]
    afresh = build_links(*golden)
    published = read_table(settings, "links", release=2)
    assert published.num_rows == afresh.num_rows > 0 and afresh.schema == LINK_SCHEMA
    rows = list(zip(*(published.column(c).to_pylist() for c in ("relation", "from_id", "to_id")), strict=True))
    assert sorted(rows) == list(zip(*(afresh.column(c).to_pylist() for c in ("link_type", "from_id", "to_id")),
                                    strict=True))
    kept = json.loads((_person_view_dir(settings) / "person_view.json").read_text(encoding="utf-8"))
    assert kept == {"release": 2, "code": _person_view_code()}


def test_a_damaged_chart_stamp_means_drawing_again(city) -> None:
    from entity_resolution import charts

    settings, _, _ = city
    folder = charts.charts_dir(settings, "building")
    stamp = folder / charts.STAMP
    for damaged in ("[1, 2]", "{\"stamp\": 1}", "not json", "{\"stamp\": \"x\", \"files\": [\"../../state.sqlite\"]}"):
        stamp.write_text(damaged, encoding="utf-8")
        assert charts._drawn(folder, "x") is None
