"""What the Splink models share: a linker on its own DuckDB connection, model files, standardizing helpers,
reading the demo city's extracts as canonical records, and pairwise scores against its ground truth."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zhiwang import duck

if TYPE_CHECKING:
    import pandas as pd
    from splink import Linker


@contextmanager
def linker(matching: pd.DataFrame, settings: Any, name: str) -> Iterator[Linker]:
    """A linker on its own in-memory DuckDB connection, closed on exit (PITFALLS: open connections have
    crashed the interpreter at exit); read results into pandas inside the block."""
    from splink import DuckDBAPI, Linker

    con = duck.connect()
    try:
        table = DuckDBAPI(connection=con).register(matching, dataset_display_name=name)
        yield Linker(table, settings, log_level="WARNING")
    finally:
        con.close()


M_FLOOR = 0.005
"""Least m probability of a level after training (see :func:`floor_probabilities`)."""
U_FLOOR = 1e-5


def finish_model(model: dict[str, Any], *, adjust: bool = True) -> dict[str, Any]:
    """The saved form of a trained model: with ``adjust``, u corrected for the matches among random pairs
    and m floored (:func:`deduct_matches_from_u`, :func:`floor_probabilities`); no run-specific
    ``linker_uid``; floats rounded so that a retrain on the same data is byte-identical (DuckDB's parallel
    sums differ in the last bits between runs)."""
    model = dict(model)
    model.pop("linker_uid", None)
    if adjust:
        model = floor_probabilities(deduct_matches_from_u(model))
    return rounded(model)


def floor_probabilities(model: dict[str, Any], m_floor: float = M_FLOOR, u_floor: float = U_FLOOR) -> dict[str, Any]:
    """Give every level at least ``m_floor`` of m (and ``u_floor`` of u), renormalised per comparison.

    Synthetic training data is cleaner than real deliveries: EM sees no true pair whose floors or coordinates
    disagree and sets m to ~1e-30 (a veto), or never sees a level and leaves m unset (Splink then guesses).
    A floor keeps a single disagreement strong evidence against, but not proof. Fixed values stay as set.
    """
    import copy

    model = copy.deepcopy(model)
    for comparison in model["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        for key, floor in (("m_probability", m_floor), ("u_probability", u_floor)):
            fixed = [lv for lv in levels if lv.get(f"fix_{key}")]
            free = [lv for lv in levels if not lv.get(f"fix_{key}")]
            budget = 1.0 - sum(lv[key] for lv in fixed)
            raised = [max(lv.get(key) or 0.0, floor) for lv in free]
            for lv, value in zip(free, raised, strict=True):
                lv[key] = value * budget / sum(raised)
    return model


def deduct_matches_from_u(model: dict[str, Any]) -> dict[str, Any]:
    """u estimated from random pairs counts the true matches among them too: observed u = λ·m + (1 − λ)·u.

    With a few records per entity that share a near-unique key (a building key, a firm's name), λ·m is most
    of the observed u, so the key's weight came out as if it merely matched the prior. Solve for u (at least
    ``U_FLOOR``), with λ the model's ``probability_two_random_records_match``. Fixed u values stay as set.
    """
    import copy

    model = copy.deepcopy(model)
    lam = float(model.get("probability_two_random_records_match") or 0.0)
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            u, m = level.get("u_probability"), level.get("m_probability")
            if level.get("is_null_level") or level.get("fix_u_probability") or u is None or m is None:
                continue
            level["u_probability"] = max((u - lam * m) / (1.0 - lam), U_FLOOR)
    return model


def rounded(value: Any, digits: int = 10) -> Any:
    if isinstance(value, float):
        return float(f"{value:.{digits}g}")
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v, digits) for v in value]
    return value


def save_model(model: dict[str, Any], path: Path) -> Path:
    path.write_text(json.dumps(model, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def load_model(model: Path | dict[str, Any], entity: str, module: str) -> dict[str, Any]:
    """``model`` itself, or the JSON at that path; a missing file is a ConfigError saying how to retrain."""
    from zhiwang.errors import ConfigError

    if isinstance(model, dict):
        return model
    if not model.is_file():
        raise ConfigError(f"{entity} model {model} not found: retrain it with `python -m {module}` "
                          "or restore it from the repository")
    return json.loads(model.read_text(encoding="utf-8"))


def column_getter(records: pd.DataFrame, id_column: str, entity: str):  # noqa: ANN201 - a small closure
    """``column(name)``: the records' column, or all-None when absent; checks ``id_column`` first."""
    import pandas as pd

    from zhiwang.errors import UserError

    if id_column not in records:
        raise UserError(f"{entity} records have no {id_column!r} column (columns: {', '.join(map(str, records))}): "
                        "pass the record identifier column as id_column")

    def column(name: str) -> pd.Series:
        return records[name] if name in records else pd.Series([None] * len(records), index=records.index, dtype=object)

    return column


def building_keys(addresses: pd.Series, district_codes: pd.Series | None = None) -> tuple[list, list]:
    """``building_key`` and ``unit_key`` of each address; when the address names no district, the record's
    own ``district_code`` fills the key's first part (an address written from the street down)."""
    from entity_resolution import standardize as s

    parsed = s.parse_addresses(addresses.astype(object).tolist(), columns=["building_key", "unit_key"])
    # through NumPy: several times faster than to_pylist, the same str / None values
    b_keys, u_keys = (parsed.column(name).to_numpy().tolist() for name in ("building_key", "unit_key"))
    if district_codes is None:
        return b_keys, u_keys
    codes = [None if c is None or c != c else str(c).strip() or None for c in district_codes.tolist()]

    def fill(key: str | None, code: str | None) -> str | None:
        return code + key if key is not None and code and key.startswith("|") else key

    return ([fill(k, c) for k, c in zip(b_keys, codes, strict=True)],
            [fill(k, c) for k, c in zip(u_keys, codes, strict=True)])


def iso_dates(values: pd.Series) -> list[str | None]:
    from entity_resolution import standardize as s

    return [None if d is None else d.isoformat() for d in s.parse_dates(values.astype(object)).tolist()]


def numbers(values: pd.Series) -> pd.Series:
    """Delivered text → float (NaN where it is no number)."""
    import pandas as pd

    return pd.to_numeric(values.astype(object).map(lambda v: None if v is None else str(v).strip()), errors="coerce")


# ---- the demo city: training data and scores ----------------------------------------------------------------

def demo_records(home: Path, entity: str, catalog_dir: Path | None = None) -> pd.DataFrame:
    """Every delivered row of the demo city's ``entity`` extracts under ``<home>/inbox`` as canonical fields
    (text as delivered), with ``record_id`` (``<resource>#<row>``), ``resource`` and ``true_entity_id`` from
    ``<home>/demo/records.parquet``; rows the quality gate would stop are left out."""
    import datetime as dt

    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from catalog.loader import load_catalog
    from connectors.base import Landed
    from connectors.formats import read_batches

    catalog = load_catalog(catalog_dir)
    truth = pq.read_table(home / "demo" / "records.parquet").to_pandas()
    frames = []
    for res in catalog.resources_for(entity):
        files = sorted((home / "inbox" / res.id).glob("*"))
        if not files:
            continue
        options = res.source.options()
        landed = Landed(path=files[-1], sha256="", format=options["format"], source_name=files[-1].name,
                        delivered_at=dt.datetime.now(dt.UTC), encoding=options.get("encoding"), options=options)
        table = pa.Table.from_batches(list(read_batches(landed)))
        mapping = {f.column: f.maps_to for f in res.fields if f.maps_to and f.column in table.column_names}
        frame = table.select(list(mapping)).rename_columns(list(mapping.values())).to_pandas()
        frame.insert(0, "record_id", [f"{res.id}#{i}" for i in range(1, len(frame) + 1)])
        frame["resource"] = res.id
        t = truth[(truth.resource == res.id) & (truth.file == files[-1].name)]
        ok = dict(zip(t.row_number, ~t.expected_quarantine, strict=True))
        frame["true_entity_id"] = t.set_index("row_number").true_entity_id.reindex(range(1, len(frame) + 1)).to_numpy()
        frames.append(frame[[ok.get(i, False) for i in range(1, len(frame) + 1)]])
    out = pd.concat(frames, ignore_index=True).astype(object)
    return out.where(out.notna(), None)  # columns one resource lacks are None, not NaN


def pairwise_scores(records: pd.DataFrame, pairs: pd.DataFrame, id_column: str = "record_id",
                    truth_column: str = "true_entity_id") -> dict[str, float]:
    """Pairwise precision, recall and F1 of ``pairs`` (``unique_id_l, unique_id_r``) against the truth."""
    import pandas as pd

    truth = records[[id_column, truth_column]].dropna()
    both = truth.merge(truth, on=truth_column, suffixes=("_l", "_r"))
    both = both[both[f"{id_column}_l"] < both[f"{id_column}_r"]]
    true_pairs = set(zip(both[f"{id_column}_l"], both[f"{id_column}_r"], strict=True))
    ids_l, ids_r = pairs.unique_id_l.astype(object), pairs.unique_id_r.astype(object)
    predicted = {(min(a, b), max(a, b)) for a, b in zip(ids_l, ids_r, strict=True)}
    hits = len(true_pairs & predicted)
    precision = hits / max(len(predicted), 1)
    recall = hits / max(len(true_pairs), 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "true_pairs": len(true_pairs), "predicted_pairs": len(predicted), "records": len(pd.unique(truth[id_column]))}


def demo_city_records(entity: str, persons: int, seed: int) -> pd.DataFrame:
    """Generate a demo city in a temporary home and return :func:`demo_records` of ``entity``."""
    import tempfile

    from zhiwang.demo import generate_city
    from zhiwang.settings import get_settings

    with tempfile.TemporaryDirectory(prefix="zhiwang-er-") as home:
        settings = get_settings(home=home)
        generate_city(settings, persons, seed)
        return demo_records(Path(home), entity, settings.catalog_dir)


def predict_pairs(matching: pd.DataFrame, model: Path | dict[str, Any], *, entity: str, module: str, table: str,
                  decisive_column: str, threshold: float) -> pd.DataFrame:
    """Scored pairs at or above ``threshold`` plus every pair sharing a valid ``decisive_column`` value."""
    settings = load_model(model, entity, module)
    with linker(matching, settings, table) as active:
        # no threshold in SQL: a decisive pair must survive even when its other fields disagree
        pairs = active.inference.predict().as_pandas_dataframe()
    pairs["is_decisive"] = (pairs[f"{decisive_column}_l"] == pairs[f"{decisive_column}_r"]).fillna(False).astype(bool)
    return pairs[(pairs["match_probability"] >= threshold) | pairs["is_decisive"]].reset_index(drop=True)


def retrain_main(entity: str, doc: str | None, model_path: Path, standardize: Any, train: Any, predict: Any,
                 argv: list[str] | None = None) -> None:
    """The ``python -m entity_resolution.models.<entity>`` command: retrain on a demo city generated in a
    temporary home, write the model JSON, and with ``--evaluate-seed`` score it on another city."""
    import argparse

    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=model_path)
    parser.add_argument("--evaluate-seed", type=int, default=None)
    args = parser.parse_args(argv)
    records = demo_city_records(entity, args.persons, args.seed)
    model = train(standardize(records), seed=args.seed)
    print(f"wrote {save_model(model, args.out)} from {len(records)} demo records")
    if args.evaluate_seed is not None:
        test = demo_city_records(entity, args.persons, args.evaluate_seed)
        pairs = predict(standardize(test), model=args.out)
        print(f"seed {args.evaluate_seed}: {pairwise_scores(test, pairs)}")
