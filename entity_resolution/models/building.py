"""The building model: Splink 5 on DuckDB over standardized canonical building fields.

Every resource maps to ``BUILDING_MATCH_COLUMNS``; the trained model is ``building.json`` next to this file;
retrain with ``python -m entity_resolution.models.building --persons 100000 --seed 1`` (on the demo city).

Building codes: only the city's official code system counts (planning's 楼栋编码, 18 digits: district
code, street, community, sequence; housing and grid workers copy it where they know it). A department that
maps its own internal number to ``building_code`` would otherwise make unrelated buildings share a code, so
any other value is None for matching. The same official code is decisive; different codes are not a veto,
since planning keeps an old code next to the new one for some buildings.

Trained on the demo city of 100,000 persons, seed 1; pairwise at threshold 0.5 on seed 2: F1 0.9996 at
20,000 persons, 0.9986 at 200,000 (0.9966 with every code blanked); 0.9969 at 1,000,000 (seed 3). What is
left is mostly distinct buildings that the city generator gave the same address.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from entity_resolution.models import common

if TYPE_CHECKING:
    import pandas as pd

MODEL_PATH = Path(__file__).with_name("building.json")
BUILDING_MATCH_COLUMNS = ["unique_id", "building_code", "building_key", "lon", "lat", "floors"]
DISTANCE_KM = (0.05, 0.3)
"""Distance levels: the grid workers' phone positions are within tens of metres of the surveyed ones."""
_OFFICIAL_CODE = re.compile(r"^(\d{6})\d{12}$")


def _part(key: str, n: int) -> str:
    return f"split_part({key}, '|', {n})"


def _same_parts(parts: tuple[int, ...], nonempty: int) -> str:
    """SQL: the two building keys agree on ``parts`` and part ``nonempty`` is filled in."""
    same = " AND ".join(f"{_part('l.building_key', n)} = {_part('r.building_key', n)}" for n in parts)
    return f"{same} AND {_part('l.building_key', nonempty)} <> ''"


PREDICTION_BLOCKS = [
    "l.building_code = r.building_code",
    "l.building_key = r.building_key",
    # one record names the estate, the other the road (or the road is written differently)
    _same_parts((1, 4, 5), 4),
    _same_parts((1, 2, 3, 5), 2),
    # the address written too differently to parse alike: nearby and as tall
    "l.floors = r.floors AND round(l.lat, 2) = round(r.lat, 2) AND round(l.lon, 2) = round(r.lon, 2)",
]


def official_building_code(value: object) -> str | None:
    """The code when it is in the official system (18 digits starting with a Shenzhen district code)."""
    from entity_resolution.standardize._text import nfkc
    from entity_resolution.standardize.places import SHENZHEN_DISTRICTS

    if value is None or value != value:  # None or NaN
        return None
    text = re.sub(r"\s", "", nfkc(str(value)))
    m = _OFFICIAL_CODE.match(text)
    return text if m and m.group(1) in set(SHENZHEN_DISTRICTS.values()) else None


def standardize_buildings(records: pd.DataFrame, id_column: str = "record_id") -> pd.DataFrame:
    """Matching columns from canonical building fields (missing columns count as empty); the address's
    district comes from ``district_code`` when the address lacks it."""
    import pandas as pd

    column = common.column_getter(records, id_column, "building")
    building_key, _ = common.building_keys(column("address"), column("district_code"))
    floors = common.numbers(column("floors"))
    frame = pd.DataFrame({
        "unique_id": records[id_column].to_numpy(),
        "building_code": [official_building_code(v) for v in column("building_code").tolist()],
        "building_key": building_key,
        "lon": common.numbers(column("lon")).to_numpy(dtype=float),
        "lat": common.numbers(column("lat")).to_numpy(dtype=float),
        # whole floors only; NaN stays a missing value (DuckDB reads a pandas NaN as NULL)
        "floors": floors.where(floors == floors.round()).to_numpy(dtype=float),
    })
    return frame.astype({"building_code": object, "building_key": object})


def _building_key_comparison() -> Any:
    from splink.comparison_library import CustomComparison
    from splink.internals.comparison_level_library import CustomLevel, ElseLevel

    b_l, b_r = "building_key_l", "building_key_r"

    def same(parts: tuple[int, ...], nonempty: int) -> str:
        return " AND ".join([*(f"{_part(b_l, n)} = {_part(b_r, n)}" for n in parts), f"{_part(b_l, nonempty)} <> ''"])

    return CustomComparison(output_column_name="building_key", comparison_levels=[
        CustomLevel(f"{b_l} IS NULL OR {b_r} IS NULL", "address is NULL").configure(is_null_level=True),
        CustomLevel(f"{b_l} = {b_r}", "same building_key"),
        CustomLevel(same((1, 4, 5), 4), "same estate and building"),
        # two estates at one road number are common (a 新村 behind a new development): the road counts only
        # when one record names no estate
        CustomLevel(f"{same((1, 2, 3, 5), 2)} AND ({_part(b_l, 4)} = '' OR {_part(b_r, 4)} = '')",
                    "same road, number and building, one estate missing"),
        CustomLevel(same((1, 4), 4), "same estate, another building"),
        CustomLevel(same((1,), 1), "same district"),
        ElseLevel(),
    ])


def building_settings() -> Any:
    """The untrained model: comparisons, blocking rules for prediction."""
    from splink import SettingsCreator
    from splink.comparison_library import CustomComparison, DistanceInKMAtThresholds
    from splink.internals.comparison_level_library import CustomLevel, ElseLevel

    code = CustomComparison(output_column_name="building_code", comparison_levels=[
        CustomLevel("building_code_l IS NULL OR building_code_r IS NULL", "code is NULL").configure(is_null_level=True),
        CustomLevel("building_code_l = building_code_r", "same official code"),
        ElseLevel(),
    ])
    floors = CustomComparison(output_column_name="floors", comparison_levels=[
        CustomLevel("floors_l IS NULL OR floors_r IS NULL", "floors is NULL").configure(is_null_level=True),
        CustomLevel("floors_l = floors_r", "same floors"),
        CustomLevel("abs(floors_l - floors_r) <= 2", "within two floors"),
        ElseLevel(),
    ])
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        # pure SQL (acos, radians): runs on DuckDB without the spatial extension
        comparisons=[code, _building_key_comparison(), DistanceInKMAtThresholds("lat", "lon", list(DISTANCE_KM)),
                     floors],
        blocking_rules_to_generate_predictions=list(PREDICTION_BLOCKS),
        retain_intermediate_calculation_columns=False,
        max_iterations=20,
    )


def train_building_model(matching: pd.DataFrame, *, seed: int = 1, max_pairs: float = 2e6) -> dict[str, Any]:
    """Estimate the model on standardized records: u from random pairs (seeded), the prior from exact code
    matches, m by EM blocked on the code (trains the rest) and on the building key (trains the code)."""
    from splink import block_on

    with common.linker(matching, building_settings(), "building_records") as linker:
        training = linker.training
        training.estimate_probability_two_random_records_match([block_on("building_code")], recall=0.8)
        training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
        training.estimate_parameters_using_expectation_maximisation(block_on("building_code"))
        training.estimate_parameters_using_expectation_maximisation(block_on("building_key"))
        model = linker.misc.save_model_to_json()
    return common.finish_model(model)


def save_model(model: dict[str, Any], path: Path = MODEL_PATH) -> Path:
    return common.save_model(model, path)


def predict_building_pairs(matching: pd.DataFrame, *, model: Path | dict[str, Any] = MODEL_PATH,
                           threshold: float = 0.5) -> pd.DataFrame:
    """Scored pairs at or above ``threshold``, and every pair sharing an official building code:
    ``unique_id_l, unique_id_r, match_probability, match_weight, is_decisive``, levels and matching columns."""
    return common.predict_pairs(matching, model, entity="building", module=__name__, table="building_records",
                                decisive_column="building_code", threshold=threshold)


def main(argv: list[str] | None = None) -> None:
    """Retrain on a demo city (generated in a temporary home) and write ``building.json``; with
    ``--evaluate-seed`` also score the saved model on another city."""
    common.retrain_main("building", main.__doc__, MODEL_PATH, standardize_buildings, train_building_model, predict_building_pairs, argv)


if __name__ == "__main__":
    main()
