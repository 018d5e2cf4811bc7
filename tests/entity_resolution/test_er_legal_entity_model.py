"""The legal-entity model: standardized inputs, decisive USCC, the shipped model on a small demo city, and
(slow) training on one demo city and scoring on another."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from entity_resolution.models import common
from entity_resolution.models.legal_entity import (
    LEGAL_ENTITY_MATCH_COLUMNS,
    MODEL_PATH,
    predict_legal_entity_pairs,
    standardize_legal_entities,
    train_legal_entity_model,
)
from zhiwang.errors import ConfigError, UserError

USCC = "91440300MA5MG3YLX1"
ID = "110101199003076616"


@pytest.fixture(scope="module")
def small_city(tmp_path_factory) -> pd.DataFrame:
    from zhiwang.demo import generate_city
    from zhiwang.settings import get_settings

    settings = get_settings(home=tmp_path_factory.mktemp("city"))
    generate_city(settings, 3000, seed=11)
    return common.demo_records(settings.home, "legal_entity", settings.catalog_dir)


def test_standardize_legal_entities_columns():
    records = pd.DataFrame([
        {"rid": "a", "name": "深圳市腾讯计算机系统有限责任公司", "uscc": USCC.lower(), "legal_rep_name": "馬 化騰",
         "legal_rep_id_number": ID, "registered_address": None, "business_address": "科苑路十五号科兴科学园A幢1203室",
         "established_date": "1998年11月11日", "phone": "0755-86013388", "district_code": "440305"},
        {"rid": "b", "name": "腾讯计算机系统（深圳）有限公司", "uscc": "91440300MA5MG3YLX2", "phone": "138 0013 8000"},
    ])
    out = standardize_legal_entities(records, id_column="rid")
    assert list(out.columns) == LEGAL_ENTITY_MATCH_COLUMNS
    first, second = out.to_dict("records")
    assert first == {
        "unique_id": "a", "uscc": USCC, "name_key": "腾讯计算机系统有限公司", "name_core": "腾讯计算机系统",
        "legal_rep_name": "马化腾", "legal_rep_id": ID,
        # the business address stands in for the missing registered one; its district comes from district_code
        "building_key": "440305|科苑路|15|科兴科学园|A座", "unit_key": "440305|科苑路|15|科兴科学园|A座||1203",
        "established_date": "1998-11-11", "phone": "0755-86013388"}
    assert second["uscc"] is None  # a wrong check character is no code at all
    assert second["name_key"] == first["name_key"] and second["phone"] == "13800138000"
    with pytest.raises(UserError, match="no 'record_id' column"):
        standardize_legal_entities(records)


def test_same_valid_uscc_is_decisive():
    records = pd.DataFrame([
        {"record_id": 1, "name": "深圳市华强电子科技有限公司", "uscc": USCC, "established_date": "2001-01-01"},
        {"record_id": 2, "name": "深圳市鹏程物流有限公司", "uscc": USCC, "established_date": "2019-06-30"},
        {"record_id": 3, "name": "深圳市华强电子科技有限公司", "uscc": None, "established_date": "1980-05-05"},
    ])
    pairs = predict_legal_entity_pairs(standardize_legal_entities(records))
    decisive = pairs[pairs.is_decisive]
    assert decisive[["unique_id_l", "unique_id_r"]].values.tolist() == [[1, 2]]
    assert decisive.match_probability.iloc[0] < 0.5  # kept for the code, not for the probability


def test_shipped_model_on_a_fresh_demo_city(small_city):
    model = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    assert [c["output_column_name"] for c in model["comparisons"]] == [
        "uscc", "name_key", "legal_rep_id", "legal_rep_name", "building_key", "established_date", "phone"]
    pairs = predict_legal_entity_pairs(standardize_legal_entities(small_city))
    scores = common.pairwise_scores(small_city, pairs)
    assert scores["true_pairs"] > 100 and scores["f1"] >= 0.98, scores


def test_missing_model_is_a_config_error(tmp_path):
    matching = standardize_legal_entities(pd.DataFrame({"record_id": [1], "name": ["甲公司"]}))
    with pytest.raises(ConfigError, match="legal entity model .* not found: retrain it"):
        predict_legal_entity_pairs(matching, model=tmp_path / "none.json")


@pytest.mark.slow
def test_train_on_one_city_score_on_another():
    train = common.demo_city_records("legal_entity", 20_000, 1)
    model = train_legal_entity_model(standardize_legal_entities(train), seed=1)
    assert model == json.loads(json.dumps(model))  # serialisable as the saved JSON
    test = common.demo_city_records("legal_entity", 20_000, 2)
    pairs = predict_legal_entity_pairs(standardize_legal_entities(test), model=model)
    scores = common.pairwise_scores(test, pairs)
    assert scores["f1"] >= 0.98, scores
