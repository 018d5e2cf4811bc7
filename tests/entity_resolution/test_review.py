"""Steward review: the queue, decisions, the CLI, and a no-match that splits a pair and stays split."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from entity_resolution.golden import build_golden, load_state, save_state, state_dir
from entity_resolution.review import decide, decisions_table, enqueue_uncertain, list_pairs, pair_id
from zhiwang.cli import app
from zhiwang.errors import UserError

ID_A, ID_B = "440304199001011234", "440304199001011242"


def person_records() -> pa.Table:
    rows = [("gongan", "g1", "陈一", ID_A), ("renshe", "r1", "陈壹", ID_B), ("wangge", "w1", "陈一", None),
            ("wangge", "w2", "林二", None)]
    return pa.table({
        "record_uid": [f"{r}|{k}" for r, k, _, _ in rows], "_resource": [r[0] for r in rows],
        "_record_key": [r[1] for r in rows], "_batch_id": ["b1"] * 4,
        "_delivered_at": pa.array([dt.datetime(2026, 3, 1)] * 4, pa.timestamp("us")),
        "name": [r[2] for r in rows], "id_number": [r[3] for r in rows],
    })


def scored_pairs() -> pa.Table:
    return pa.table({"record_uid_l": ["gongan|g1", "renshe|r1", "gongan|g1", "gongan|g1", "wangge|w1", "renshe|r1"],
                     "record_uid_r": ["renshe|r1", "wangge|w1", "wangge|w1", "wangge|w2", "wangge|w2", "wangge|w2"],
                     "match_probability": [0.95, 0.97, 0.91, 0.6, 0.2, 0.7],
                     "is_decisive": [False, False, False, False, False, True]})


def test_band_is_queued_masked_and_stable(settings) -> None:
    assert enqueue_uncertain(settings, "person", scored_pairs(), person_records(), lower=0.5, upper=0.94) == 2
    items = list_pairs(settings, "person")
    assert {(i.record_uid_l, i.record_uid_r) for i in items} == {("gongan|g1", "wangge|w1"), ("gongan|g1", "wangge|w2")}
    shown = next(i for i in items if i.record_uid_r == "wangge|w1").masked()  # the decisive r1-w2 pair is not queued
    assert shown["left"]["id_number"] == "440304********1234" and ID_A not in json.dumps(shown)
    assert shown["left"]["record_key"] == "**" and shown["right"]["name"] == "陈一"
    assert shown["pair_id"] == pair_id("person", "wangge|w1", "gongan|g1")
    # a later run whose band no longer holds a pair retires it from the open queue
    narrower = scored_pairs().filter(pa.compute.greater(scored_pairs()["match_probability"], 0.9))
    assert enqueue_uncertain(settings, "person", narrower, person_records(), lower=0.5, upper=0.94) == 1
    assert list_pairs(settings, "legal_entity") == []


def test_decide_validates_and_persists(settings) -> None:
    enqueue_uncertain(settings, "person", scored_pairs(), person_records(), lower=0.5, upper=0.94)
    with pytest.raises(UserError, match="No review pair 'rvnope'.*zhiwang review list"):
        decide(settings, "rvnope", "match")
    pid = pair_id("person", "gongan|g1", "wangge|w2")
    with pytest.raises(UserError, match="'maybe' is not one of: match, no-match"):
        decide(settings, pid, "maybe")
    item = decide(settings, pid, "no-match", "different people")
    assert item.decision == "no-match" and item.status == "decided"
    # re-queueing on the next run keeps the decision; the latest decision wins
    enqueue_uncertain(settings, "person", scored_pairs(), person_records(), lower=0.5, upper=0.94)
    assert [i.pair_id for i in list_pairs(settings, "person")] == [pair_id("person", "gongan|g1", "wangge|w1")]
    decide(settings, pid, "match")
    assert decisions_table(settings, "person").to_pylist() == [
        {"record_uid_l": "gongan|g1", "record_uid_r": "wangge|w2", "decision": "match"}]


def test_no_match_splits_the_pair_and_it_stays_split(settings) -> None:
    records, pairs = person_records(), scored_pairs()
    first = build_golden("person", records, pairs, None, decisions_table(settings, "person"), None, release=1, threshold=0.9)
    gid = {r["record_key"]: r["golden_id"] for r in first.xref.to_pylist()}
    assert gid["g1"] == gid["r1"] == gid["w1"] == gid["w2"]  # w2 via the decisive pair
    save_state(state_dir(settings, "person"), first.state)

    enqueue_uncertain(settings, "person", pairs, records, lower=0.5, upper=0.94)
    # g1-w1 also connect through r1 (0.95 and 0.97): the weakest edge on that path, g1-r1, must go
    decide(settings, pair_id("person", "gongan|g1", "wangge|w1"), "no-match")
    for release in (2, 3):  # the decision applies on every later run
        result = build_golden("person", records, pairs, load_state(state_dir(settings, "person")),
                              decisions_table(settings, "person"), None, release=release, threshold=0.9)
        now = {r["record_key"]: r["golden_id"] for r in result.xref.to_pylist()}
        assert now["g1"] != now["w1"]
        assert now["r1"] == now["w1"] == now["w2"] == gid["g1"]  # the larger part keeps the ID
        save_state(state_dir(settings, "person"), result.state)
        if release == 2:
            assert result.cut_edges.num_rows == 1 and result.cut_edges["match_probability"][0].as_py() == 0.95
            assert [(r["change"], r["related_id"]) for r in result.changes.to_pylist() if r["golden_id"] == now["g1"]] == [
                ("split", gid["g1"])]
        else:
            assert result.changes.num_rows == 0


def test_cli_list_and_decide(settings, home) -> None:
    enqueue_uncertain(settings, "person", scored_pairs(), person_records(), lower=0.5, upper=0.94)
    runner = CliRunner()
    out = runner.invoke(app, ["review", "list", "--entity", "person", "--json"])
    assert out.exit_code == 0, out.output
    items = json.loads(out.stdout)
    assert len(items) == 2 and ID_A not in out.stdout and ID_B not in out.stdout
    table = runner.invoke(app, ["review", "list"])
    assert table.exit_code == 0 and "rv" in table.stdout and ID_B not in table.stdout
    done = runner.invoke(app, ["review", "decide", items[0]["pair_id"], "no-match", "--note", "checked"])
    assert done.exit_code == 0 and "no-match recorded" in done.stdout
    bad = runner.invoke(app, ["review", "decide", "rv000000000000", "match"])
    assert bad.exit_code == 2 and "No review pair 'rv000000000000'" in bad.output
    wrong_entity = runner.invoke(app, ["review", "list", "--entity", "car"])
    assert wrong_entity.exit_code == 2 and "is not one of" in wrong_entity.output


def test_resolve_entity_queues_then_applies_decisions(settings) -> None:
    from entity_resolution.golden import resolve_entity

    first = resolve_entity(settings, None, "person", person_records(), scored_pairs(), release=1, review_band=(0.5, 0.94))
    assert first.stats["review_open"] == 2
    save_state(state_dir(settings, "person"), first.state)
    decide(settings, pair_id("person", "gongan|g1", "wangge|w1"), "no-match")
    second = resolve_entity(settings, None, "person", person_records(), scored_pairs(), release=2, review_band=(0.5, 0.94))
    ids = {r["record_key"]: r["golden_id"] for r in second.xref.to_pylist()}
    assert ids["g1"] != ids["w1"] and second.stats["review_open"] == 1
