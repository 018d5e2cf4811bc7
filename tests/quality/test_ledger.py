"""Release of held deliveries, supersession by corrected redeliveries, quarantine listing and scorecard,
through the ledger the runner writes (``connectors.state.StateStore``) and the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from connectors.state import StateStore
from tests.quality.conftest import deliver, person
from zhiwang.cli import app
from zhiwang.settings import get_settings


def cli(home: Path, catalog_dir: Path, *args: str) -> Any:
    result = CliRunner().invoke(app, [*args, "--home", str(home), "--catalog", str(catalog_dir)])
    return result


def test_held_delivery_is_released(tmp_path, resource, catalog, catalog_dir) -> None:
    settings = get_settings(tmp_path / "home", catalog_dir)
    deliver(settings, resource, catalog, [person(i) for i in range(10)], "b1", "2026-11-01T09:00:00")
    rows = [person(i) for i in range(3)]
    rows[0]["所属区划"] = "999999"
    held = deliver(settings, resource, catalog, rows, "b2", "2026-11-02T09:00:00", staging_bad=1)
    assert held.status == "held" and held.rows_staged == 0 and "zhiwang quality release b2" in held.message

    out = cli(settings.home, catalog_dir, "quality", "release", "b2", "--steward", "王五", "--json")
    assert out.exit_code == 0, out.output
    rec = StateStore(settings.state_db).delivery("b2")
    assert (rec.status, rec.rows_read, rec.rows_staged, rec.rows_quarantined) == ("staged", 4, 2, 2)
    assert rec.rows_read == rec.rows_staged + rec.rows_quarantined
    assert "released by 王五" in rec.message
    assert json.loads(out.stdout)["rows_staged"] == 2
    entries = {e["row_number"]: e["checks"] for e in json.loads(cli(settings.home, catalog_dir, "quarantine", "list",
                                                                       "--resource", resource.id, "--json").stdout)}
    assert entries == {1: ["cn_division_code"], 1000: ["record_key"]}  # staging's row kept, the gate's added

    again = cli(settings.home, catalog_dir, "quality", "release", "b2")
    assert again.exit_code == 2 and "is staged, not held" in again.output


def test_corrected_redelivery_supersedes_quarantine(tmp_path, resource, catalog, catalog_dir) -> None:
    settings = get_settings(tmp_path / "home", catalog_dir)
    rows = [person(i) for i in range(6)]
    rows[2]["所属区划"] = "440102"      # error: quarantined
    rows[4]["所属区划"] = "000000"
    deliver(settings, resource, catalog, rows, "b1", "2026-11-01T09:00:00")
    fixed = [person(i) for i in range(6)]
    fixed[4]["所属区划"] = "000000"     # still wrong in the redelivery
    deliver(settings, resource, catalog, fixed, "b2", "2026-11-02T09:00:00")

    listed = json.loads(cli(settings.home, catalog_dir, "quarantine", "list", "--resource", resource.id, "--all", "--json").stdout)
    status = {(e["batch_id"], e["record_key"]): (e["status"], e["superseded_by"]) for e in listed}
    assert status == {("b1", "R000002"): ("superseded", "b2"), ("b1", "R000004"): ("open", None),
                      ("b2", "R000004"): ("open", None)}
    open_only = json.loads(cli(settings.home, catalog_dir, "quarantine", "list", "--resource", resource.id, "--json").stdout)
    assert len(open_only) == 2
    table = cli(settings.home, catalog_dir, "quarantine", "list", "--resource", resource.id)
    assert table.exit_code == 0 and "superseded" in table.output and "R000004" in table.output

    card = json.loads(cli(settings.home, catalog_dir, "quality", "scorecard", "--json").stdout)[0]
    assert card["provider"] == "gongan" and card["deliveries"] == 2 and card["rows_read"] == 12
    assert card["rows_accepted"] == 9 and card["acceptance_rate"] == 0.75
    assert card["errors_by_check"] == {"cn_division_code": 3}
    assert card["quarantine_open"] == 2 and card["quarantine_superseded"] == 1
    assert [t["acceptance_rate"] for t in card["trend"]] == [round(4 / 6, 4), round(5 / 6, 4)]


def test_scorecard_counts_warnings_and_table_output(tmp_path, resource, catalog, catalog_dir) -> None:
    settings = get_settings(tmp_path / "home", catalog_dir)
    rows = [person(i) for i in range(5)]
    rows[1]["手机号码"] = "12"
    rows[2]["性别"] = "?"
    deliver(settings, resource, catalog, rows, "b1", "2026-11-01T09:00:00")
    card = json.loads(cli(settings.home, catalog_dir, "quality", "scorecard", "--json").stdout)[0]
    assert card["warnings_by_check"] == {"cn_mobile": 1, "gender": 1} and card["rows_warned"] == 2
    out = cli(settings.home, catalog_dir, "quality", "scorecard")
    assert out.exit_code == 0 and "gongan" in out.output and "Quality scorecard" in out.output


def test_unknown_resource_and_batch_are_user_errors(tmp_path, catalog_dir) -> None:
    home = tmp_path / "home"
    out = cli(home, catalog_dir, "quarantine", "list", "--resource", "nope")
    assert out.exit_code == 2 and "gongan_population" in out.output
    out = cli(home, catalog_dir, "quality", "release", "nope")
    assert out.exit_code == 2 and "No delivery 'nope'" in out.output


def test_report_and_checks_commands(tmp_path, resource, catalog, catalog_dir) -> None:
    settings = get_settings(tmp_path / "home", catalog_dir)
    deliver(settings, resource, catalog, [person(i) for i in range(3)], "b1", "2026-11-01T09:00:00")
    out = cli(settings.home, catalog_dir, "quality", "report", "--json")
    assert out.exit_code == 0 and Path(json.loads(out.stdout)["report"]) == settings.quality_docs / "index.html"
    checks = json.loads(cli(settings.home, catalog_dir, "quality", "checks", resource.id, "--json").stdout)
    assert {"check": "cn_division_code", "column": "所属区划", "severity": "error", "params": {},
            "nulls_on_warning": "district_code", "pair": None} in checks
