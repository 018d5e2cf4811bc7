"""The Spark backend scores the same pairs as the DuckDB backend: within a delivery, between deliveries, and
through the whole pipeline. Spark runs in local[2] (Java 17 on the machine)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from zhiwang.errors import ConfigError

REPO = Path(__file__).resolve().parents[3]


# ---- configuration ---------------------------------------------------------------------------------------

def test_unknown_backend_name_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from entity_resolution.backends import get_backend

    monkeypatch.setenv("ZHIWANG_SPLINK_BACKEND", "flink")
    with pytest.raises(ConfigError, match=r"ZHIWANG_SPLINK_BACKEND = 'flink' is not one of: duckdb, spark"):
        get_backend()


def test_backend_is_picked_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from entity_resolution.backends import get_backend

    monkeypatch.setenv("ZHIWANG_SPLINK_BACKEND", " Spark ")
    assert get_backend().name == "spark"
    monkeypatch.delenv("ZHIWANG_SPLINK_BACKEND")
    assert get_backend().name == "duckdb"


def test_missing_java_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from entity_resolution.backends.spark import require_java

    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(ConfigError, match=r"needs Java 17 or newer, but JAVA_HOME=.* has no bin/java.*apt-get install"):
        require_java()
    monkeypatch.delenv("JAVA_HOME")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigError, match=r"no `java` on PATH and JAVA_HOME is unset"):
        require_java()


def test_old_java_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from entity_resolution.backends.spark import require_java

    # a stand-in JDK that reports Java 8, the way `java -version` does (on stderr)
    java = tmp_path / "bin" / "java"
    java.parent.mkdir()
    java.write_text('#!/bin/sh\necho \'openjdk version "1.8.0_392"\' >&2\n', encoding="utf-8")
    java.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(ConfigError, match=r'needs Java 17 or newer; .* is version "1.8: install 17\+'):
        require_java()


def test_duckdb_sql_becomes_spark_sql() -> None:
    from entity_resolution.backends.spark import duckdb_to_spark

    # DuckDB's length of a list is Spark's size; lambdas and range translate
    assert duckdb_to_spark("length(list_filter(range(1, length(a) + 1), lambda i: substr(a, i, 1) <> 'x')) = 1") == (
        "SIZE(FILTER(IF((LENGTH(a) + 1 - 1) < 1, ARRAY(), SEQUENCE(1, (LENGTH(a) + 1 - 1))), "
        "i -> SUBSTRING(a, i, 1) <> 'x')) = 1")
    # splitting into characters without the trailing empty string a regex split would add
    assert duckdb_to_spark("length(list_intersect(list_distinct(string_split(a, '')), string_split(b, '')))") == (
        "SIZE(ARRAY_INTERSECT(ARRAY_DISTINCT(SPLIT(a, '')), SPLIT(b, '')))")
    # double quotes are identifiers in DuckDB and string constants in Spark
    assert duckdb_to_spark('"phone_l" = "phone_r"') == "`phone_l` = `phone_r`"


def test_every_saved_model_parses_as_spark_sql() -> None:
    import json

    import sqlglot

    from entity_resolution.backends.spark import spark_model

    for entity in ("person", "legal_entity", "building"):
        model = spark_model(json.loads((REPO / "entity_resolution" / "models" / f"{entity}.json").read_text("utf-8")))
        conditions = [r["blocking_rule"] for r in model["blocking_rules_to_generate_predictions"]]
        conditions += [lv["sql_condition"] for c in model["comparisons"] for lv in c["comparison_levels"]
                       if lv["sql_condition"] != "ELSE"]
        for sql in conditions:
            sqlglot.parse_one(sql, read="spark")
            assert '"' not in sql and "lambda" not in sql.lower() and "list_" not in sql.lower(), (entity, sql)


# ---- the same pairs as DuckDB ----------------------------------------------------------------------------

def _matching(entity: str, records: Any) -> pa.Table:
    """Standardized matching rows as the pipeline scores them (``incremental._standardized``)."""
    import importlib

    from entity_resolution.incremental import MATCHERS

    module_name, standardize, _ = MATCHERS[entity]
    frame = getattr(importlib.import_module(module_name), standardize)(records)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return table.cast(pa.schema([pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f
                                 for f in table.schema]))


@pytest.fixture(scope="module")
def city_rows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pa.Table]:
    from entity_resolution.models.common import demo_records
    from zhiwang.demo import generate_city
    from zhiwang.settings import get_settings

    home = tmp_path_factory.mktemp("spark-city")
    settings = get_settings(home, REPO / "catalog")
    generate_city(settings, persons=250, seed=5)
    return {entity: _matching(entity, demo_records(home, entity, settings.catalog_dir))
            for entity in ("person", "legal_entity")}


def _model(entity: str) -> tuple[dict[str, Any], str]:
    from entity_resolution.incremental import MATCHERS, _model

    return _model(entity)[1], MATCHERS[entity][2]


def _assert_same_pairs(duck: pa.Table, spark: pa.Table) -> None:
    from entity_resolution.backends import PAIRS_SCHEMA

    assert spark.schema == PAIRS_SCHEMA
    assert duck.num_rows > 0
    keys = ["record_uid_l", "record_uid_r", "is_decisive"]
    assert spark.select(keys).to_pylist() == duck.select(keys).to_pylist()
    for d, s in zip(duck.column("match_probability").to_pylist(), spark.column("match_probability").to_pylist(),
                    strict=True):
        assert s == pytest.approx(d, abs=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("entity", ["person", "legal_entity"])
def test_spark_scores_every_blocked_pair_like_duckdb(city_rows: dict[str, pa.Table], entity: str) -> None:
    """Threshold 0 returns every blocked pair, so every comparison level of the model is evaluated by both."""
    from entity_resolution.backends import get_backend

    model, decisive = _model(entity)
    rows = city_rows[entity]
    duck = get_backend("duckdb").predict(model, rows, None, decisive=decisive, threshold=0.0)
    spark = get_backend("spark").predict(model, rows, None, decisive=decisive, threshold=0.0)
    _assert_same_pairs(duck, spark)
    if entity == "person":  # its blocked pairs span the model's levels, not just exact matches
        assert min(duck.column("match_probability").to_pylist()) < 0.5 < 0.99 < max(duck.column("match_probability").to_pylist())


@pytest.mark.slow
def test_spark_predicts_between_known_and_new_like_duckdb(city_rows: dict[str, pa.Table]) -> None:
    from entity_resolution.backends import get_backend

    model, decisive = _model("person")
    rows = city_rows["person"]
    cut = rows.num_rows * 2 // 3
    known, new = rows.slice(0, cut), rows.slice(cut)
    duck = get_backend("duckdb").predict(model, new, known, decisive=decisive, threshold=0.5)
    spark = get_backend("spark").predict(model, new, known, decisive=decisive, threshold=0.5)
    _assert_same_pairs(duck, spark)
    known_ids = set(known.column("unique_id").to_pylist())
    lefts = spark.column("record_uid_l").to_pylist()
    assert any(uid in known_ids for uid in lefts), "no pair between known and new records was scored"
    assert not any(uid in known_ids for uid in spark.column("record_uid_r").to_pylist())
    assert any(spark.column("is_decisive").to_pylist()) and min(spark.column("match_probability").to_pylist()) >= 0.0


# ---- the whole pipeline -----------------------------------------------------------------------------------

def _groups(xref: pa.Table) -> set[tuple[str, frozenset[tuple[str, str]]]]:
    """Records grouped by golden record: which records were resolved together, whatever the ids."""
    groups: dict[str, set[tuple[str, str]]] = {}
    entities: dict[str, str] = {}
    for row in xref.select(["entity", "resource", "record_key", "golden_id"]).to_pylist():
        groups.setdefault(row["golden_id"], set()).add((row["resource"], row["record_key"]))
        entities[row["golden_id"]] = row["entity"]
    return {(entities[g], frozenset(members)) for g, members in groups.items()}


@pytest.mark.slow
def test_pipeline_on_spark_publishes_the_duckdb_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from warehouse.registry import current_release, read_table
    from zhiwang.demo import generate_city
    from zhiwang.pipeline import run_all
    from zhiwang.settings import get_settings
    from zhiwang.validation import load_valid_catalog

    xrefs = {}
    for backend in ("duckdb", "spark"):
        monkeypatch.setenv("ZHIWANG_SPLINK_BACKEND", backend)
        settings = get_settings(tmp_path / backend, REPO / "catalog")
        catalog = load_valid_catalog(settings.catalog_dir)
        generate_city(settings, persons=150, seed=3, catalog=catalog)
        summary = run_all(settings, catalog)
        assert summary.extra["release"] == 1 and current_release(settings).number == 1
        xrefs[backend] = read_table(settings, "xref").sort_by([("entity", "ascending"), ("resource", "ascending"),
                                                               ("record_key", "ascending")])
    duck, spark = xrefs["duckdb"], xrefs["spark"]
    assert spark.num_rows == duck.num_rows > 0
    assert _groups(spark) == _groups(duck)
    assert spark.column("golden_id").to_pylist() == duck.column("golden_id").to_pylist()
    for d, s in zip(duck.column("match_probability").to_pylist(), spark.column("match_probability").to_pylist(),
                    strict=True):
        assert (s is None and d is None) or s == pytest.approx(d, abs=1e-6)
