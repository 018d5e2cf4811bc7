"""zhiwang bench on a small city: the table, the JSON contract, and the city cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from zhiwang.cli import app

pytestmark = pytest.mark.slow
CATALOG = Path(__file__).resolve().parents[2] / "catalog"


def test_bench_json_reports_every_stage_accuracy_and_the_bare_splink_ratio(tmp_path: Path) -> None:
    root = tmp_path / "bench"
    args = ["bench", "--persons", "400", "--seed", "5", "--root", str(root), "--catalog", str(CATALOG), "--json"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    result = json.loads(first.stdout.strip().splitlines()[-1])
    assert {"persons", "stages", "total_s", "bare_splink_s", "ratio", "peak_rss_mb", "pairwise"} <= set(result)
    names = [s["name"] for s in result["stages"]]
    for expected in ("generate", "ingest", "person:match", "legal_entity:cluster+survive", "building:load", "links",
                     "publish", "mirrors", "bare splink", "d2 ingest", "d2 person:match", "d2 publish", "d2 mirrors"):
        assert expected in names
    assert result["persons"] == 400 and result["city_generated"] is True
    ingest = next(s for s in result["stages"] if s["name"] == "ingest")
    assert ingest["rows"] > 1000 and ingest["rows_per_s"] > 0 and ingest["peak_rss_mb"] > 0
    chain = [s for s in result["stages"] if s["name"] not in ("generate", "bare splink") and not s["name"].startswith("d2 ")]
    assert result["total_s"] == pytest.approx(sum(s["seconds"] for s in chain), abs=0.2)
    assert result["ratio"] == pytest.approx(result["total_s"] / result["bare_splink_s"], rel=0.05)
    assert result["peak_rss_mb"] == max(s["peak_rss_mb"] for s in result["stages"] if s["name"] not in ("generate", "bare splink"))
    assert result["second_delivery_s"] > 0
    person = result["second_delivery_resolve"]["person"]  # the redelivery was resolved around its changes
    assert person["resolve_mode"] == "incremental" and 0 < person["resolved_records"] < person["records"]
    assert result["person_records"] > 400
    for entity in ("person", "legal_entity", "building"):
        assert result["pairwise"][entity]["f1"] > 0.95, result["pairwise"]
    assert 0.9 < result["bare_splink_f1"] <= 1.0

    # the same persons and seed: the cached city is reused, the run starts from an empty home
    second = CliRunner().invoke(app, [*args[:-1], "--deliveries", "1", "--no-baseline"])
    assert second.exit_code == 0, second.output
    assert "reused from the cache" in second.stdout
    assert "whole chain (first delivery" in second.stdout and "bare Splink" not in second.stdout
    from connectors.state import StateStore

    deliveries = StateStore(root / "run" / "state.sqlite").deliveries()
    assert len(deliveries) == len({d.resource for d in deliveries})  # one delivery per resource: the first


def test_bench_refuses_a_city_too_small(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bench", "--persons", "10", "--root", str(tmp_path)])
    assert result.exit_code == 2
    assert "--persons" in result.output
