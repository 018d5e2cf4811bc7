"""The building model: official codes only, standardized inputs, decisive codes, the shipped model on a
small demo city, and (slow) training on one demo city and scoring on another."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from entity_resolution.models import common
from entity_resolution.models.building import (
    BUILDING_MATCH_COLUMNS,
    MODEL_PATH,
    official_building_code,
    predict_building_pairs,
    standardize_buildings,
    train_building_model,
)
from zhiwang.errors import ConfigError, UserError

CODE = "440305001002000221"


@pytest.fixture(scope="module")
def small_city(tmp_path_factory) -> pd.DataFrame:
    from zhiwang.demo import generate_city
    from zhiwang.settings import get_settings

    settings = get_settings(home=tmp_path_factory.mktemp("city"))
    generate_city(settings, 6000, seed=12)
    return common.demo_records(settings.home, "building", settings.catalog_dir)


@pytest.mark.parametrize(("value", "expected"), [
    (CODE, CODE), (" ４４０３０５００１００２０００２２１ ", CODE),  # full-width digits and spaces folded
    ("ZJLD00012345", None),  # a department's own numbering is another code system
    ("110101001002000221", None),  # 18 digits, but not a Shenzhen district
    ("44030500100200022", None), (None, None), (float("nan"), None),
])
def test_official_building_code(value, expected):
    assert official_building_code(value) == expected


def test_standardize_buildings_columns():
    records = pd.DataFrame([
        {"record_id": "g1", "building_code": CODE, "address": "粤海街道科苑路15号科兴科学园A栋", "district_code": "440305",
         "lon": "113.94", "lat": "22.54", "floors": "32"},
        {"record_id": "z1", "building_code": "ZJLD0001", "address": "深圳市南山区科苑路十五号科兴科学园A座",
         "floors": "三十"},
    ])
    out = standardize_buildings(records)
    assert list(out.columns) == BUILDING_MATCH_COLUMNS
    first, second = out.to_dict("records")
    assert first == {"unique_id": "g1", "building_code": CODE, "building_key": "440305|科苑路|15|科兴科学园|A座",
                     "lon": 113.94, "lat": 22.54, "floors": 32.0}
    assert second["building_code"] is None and second["building_key"] == first["building_key"]
    assert pd.isna(second["lon"]) and pd.isna(second["floors"])
    with pytest.raises(UserError, match="no 'id' column"):
        standardize_buildings(records, id_column="id")


def test_same_official_code_is_decisive():
    records = pd.DataFrame([
        {"record_id": 1, "building_code": CODE, "address": "南山区科苑路15号科兴科学园A座", "floors": 30},
        {"record_id": 2, "building_code": CODE, "address": "福田区福华路61号南岭新村2栋", "floors": 8},
        {"record_id": 3, "building_code": "ZJ-1", "address": "南山区科苑路15号科兴科学园B座", "floors": 9},
        {"record_id": 4, "building_code": "ZJ-1", "address": "宝安区新安路1号翠竹新村3栋", "floors": 6},
    ])
    pairs = predict_building_pairs(standardize_buildings(records))
    assert pairs[pairs.is_decisive][["unique_id_l", "unique_id_r"]].values.tolist() == [[1, 2]]
    assert not ((pairs.unique_id_l == 3) & (pairs.unique_id_r == 4)).any()  # a local code decides nothing


def test_shipped_model_on_a_fresh_demo_city(small_city):
    model = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    assert [c["output_column_name"] for c in model["comparisons"]] == [
        "building_code", "building_key", "lat_lon", "floors"]
    pairs = predict_building_pairs(standardize_buildings(small_city))
    scores = common.pairwise_scores(small_city, pairs)
    assert scores["true_pairs"] > 200 and scores["f1"] >= 0.95, scores


def test_missing_model_is_a_config_error(tmp_path):
    matching = standardize_buildings(pd.DataFrame({"record_id": [1], "address": ["南山区科苑路15号"]}))
    with pytest.raises(ConfigError, match="building model .* not found: retrain it"):
        predict_building_pairs(matching, model=tmp_path / "none.json")


@pytest.mark.slow
def test_train_on_one_city_score_on_another():
    train = common.demo_city_records("building", 20_000, 1)
    model = train_building_model(standardize_buildings(train), seed=1)
    test = common.demo_city_records("building", 20_000, 2)
    pairs = predict_building_pairs(standardize_buildings(test), model=model)
    scores = common.pairwise_scores(test, pairs)
    assert scores["f1"] >= 0.95, scores


def test_finish_model_deducts_matches_from_u_and_floors_m():
    level = {"sql_condition": "x", "label_for_charts": "x"}
    model = {"linker_uid": "abc", "probability_two_random_records_match": 0.01, "comparisons": [{
        "output_column_name": "k", "comparison_levels": [
            {**level, "is_null_level": True},
            {**level, "m_probability": 1.0, "u_probability": 0.0105},  # mostly the true matches among random pairs
            {**level, "m_probability": 0.0, "u_probability": None},  # never seen in training
            {**level, "m_probability": 0.0, "u_probability": 0.9895, "fix_u_probability": True},
        ]}]}
    out = common.finish_model(model)
    assert "linker_uid" not in out and "linker_uid" in model  # the input is not changed
    _, same, unseen, other = out["comparisons"][0]["comparison_levels"]
    assert same["m_probability"] == pytest.approx(1 / 1.01) and unseen["m_probability"] == pytest.approx(0.005 / 1.01)
    assert other["m_probability"] == pytest.approx(0.005 / 1.01) and other["u_probability"] == 0.9895
    # (0.0105 - 0.01 * 1.0) / 0.99 = 0.000505, and the unseen level's 1e-5, share what the fixed level leaves
    assert same["u_probability"] + unseen["u_probability"] == pytest.approx(1 - 0.9895)
    assert same["u_probability"] / unseen["u_probability"] == pytest.approx(0.0005 / 0.99 / 1e-5, rel=1e-6)
