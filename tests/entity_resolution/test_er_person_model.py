"""The person model: standardized inputs, the shipped model, and a train → save → reload round trip."""

from __future__ import annotations

import json
from collections import defaultdict

import pandas as pd
import pytest

from entity_resolution.models.person import (
    MODEL_PATH,
    PERSON_MATCH_COLUMNS,
    predict_person_pairs,
    save_model,
    standardize_persons,
    train_person_model,
)
from entity_resolution.models.synthetic import synthetic_people
from zhiwang.errors import ConfigError, UserError


def _scores(records: pd.DataFrame, pairs: pd.DataFrame) -> tuple[float, float]:
    """Pairwise precision and recall against ``true_id``."""
    groups = defaultdict(list)
    for record_id, true_id in zip(records.record_id, records.true_id, strict=True):
        groups[true_id].append(record_id)
    truth = {(a, b) for g in groups.values() for i, a in enumerate(g) for b in g[i + 1:]}
    predicted = {(min(a, b), max(a, b)) for a, b in zip(pairs.unique_id_l, pairs.unique_id_r, strict=True)}
    hits = len(truth & predicted)
    return hits / max(len(predicted), 1), hits / len(truth)


def test_standardize_persons_columns():
    records = pd.DataFrame([
        {"record_id": 7, "name": "張 偉", "id_number": "110101199003076616", "birth_date": None,
         "phone": "+86 138 0013 8000", "residence_address": "南山区科苑路十五号科兴科学园A幢1203"},
        {"record_id": 8, "name": "单田芳", "id_number": "bad", "birth_date": "1990年1月2日", "phone": None,
         "residence_address": None},
    ])
    out = standardize_persons(records)
    assert list(out.columns) == PERSON_MATCH_COLUMNS
    assert out.to_dict("records") == [
        {"unique_id": 7, "id_number": "110101199003076616", "name": "张伟", "name_pinyin": "zhang wei",
         "birth_date": "1990-03-07",  # from the ID number when the record has none
         "phone": "13800138000", "building_key": "440305|科苑路|15|科兴科学园|A座",
         "unit_key": "440305|科苑路|15|科兴科学园|A座||1203"},
        {"unique_id": 8, "id_number": None, "name": "单田芳", "name_pinyin": "shan tian fang",
         "birth_date": "1990-01-02", "phone": None, "building_key": None, "unit_key": None},
    ]
    only_names = standardize_persons(pd.DataFrame({"record_id": [1], "name": ["王五"]}))
    assert only_names.loc[0, "name"] == "王五" and only_names.loc[0, "id_number"] is None
    with pytest.raises(UserError, match="no 'record_id' column .* pass the record identifier column"):
        standardize_persons(pd.DataFrame({"name": ["王五"]}))


def test_birth_dates_are_iso_text_for_every_year():
    # standardize_persons writes dates through Arrow's cast, which must be date.isoformat() (zero-padded years)
    import datetime as dt

    import pyarrow as pa

    dates = [dt.date(y, m, d) for y in range(1, 10_000) for m, d in ((1, 1), (2, 28), (12, 31))]
    assert pa.array(dates, pa.date32()).cast(pa.string()).to_pylist() == [d.isoformat() for d in dates]
    kept = [d for d in dates if d.year >= 1880 and d.year <= 2100]  # parse_dates' range
    records = pd.DataFrame({"record_id": range(len(kept) + 1), "birth_date": [*kept, None]})
    assert standardize_persons(records)["birth_date"].tolist() == [*(d.isoformat() for d in kept), None]


def test_shipped_model_links_fresh_synthetic_people():
    model = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    assert [c["output_column_name"] for c in model["comparisons"]] == [
        "id_number", "name", "birth_date", "phone", "building_key"]
    records = pd.DataFrame(synthetic_people(400, seed=99))
    pairs = predict_person_pairs(standardize_persons(records), threshold=0.5)
    precision, recall = _scores(records, pairs)
    assert precision >= 0.99 and recall >= 0.9, (precision, recall)


def test_same_valid_id_is_decisive():
    base = {"id_number": "110101199003076616", "phone": None, "residence_address": None}
    records = pd.DataFrame([
        {"record_id": 1, "name": "张伟", "birth_date": "1990-03-07", **base},
        {"record_id": 2, "name": "李大海", "birth_date": "2001-11-30", **base},  # everything else disagrees
        {"record_id": 3, "name": "王小明", "birth_date": "1985-01-01", **{**base, "id_number": None}},
    ])
    pairs = predict_person_pairs(standardize_persons(records), threshold=0.5)
    assert pairs[["unique_id_l", "unique_id_r", "is_decisive"]].values.tolist() == [[1, 2, True]]
    assert pairs.loc[0, "match_probability"] < 0.5  # kept for the ID, not for the probability


def test_missing_model_is_a_user_error(tmp_path):
    with pytest.raises(ConfigError, match="person model .* not found: retrain it"):
        predict_person_pairs(standardize_persons(pd.DataFrame({"record_id": [1], "name": ["王五"]})),
                             model=tmp_path / "nope.json")


@pytest.mark.slow
def test_train_save_reload_predict(tmp_path):
    train = standardize_persons(pd.DataFrame(synthetic_people(1500, seed=5)))
    model = train_person_model(train, seed=5, max_pairs=2e5)
    again = train_person_model(train, seed=5, max_pairs=2e5)
    assert again == model  # seeded: retraining on the same data gives the same model

    path = save_model(model, tmp_path / "person.json")
    records = pd.DataFrame(synthetic_people(500, seed=6))
    pairs = predict_person_pairs(standardize_persons(records), model=path, threshold=0.5)
    precision, recall = _scores(records, pairs)
    assert precision >= 0.98 and recall >= 0.85, (precision, recall)

    levels = {c["output_column_name"]: c["comparison_levels"] for c in model["comparisons"]}
    exact_id = next(lv for lv in levels["id_number"] if lv.get("label_for_charts") == "same valid ID number")
    assert exact_id["m_probability"] / exact_id["u_probability"] > 1000  # a valid ID match is decisive
