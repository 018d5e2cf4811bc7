"""Splink's charts for stewards, written as self-contained HTML (libraries inlined: intranets have no CDN)
under ``<home>/review/charts/<entity>/``: the model's match weights and m/u parameters, waterfall charts of
the least certain scored pairs, and a cluster studio dashboard over a sample of records.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from zhiwang import duck

if TYPE_CHECKING:
    import pyarrow as pa

    from zhiwang.settings import Settings

SAMPLE_RECORDS = 3000
"""Charts explain the model on a sample: their cost stays flat however large the city is."""


def charts_dir(settings: Settings, entity: str) -> Path:
    return settings.review / "charts" / entity


def write_charts(settings: Settings, entity: str, records: pa.Table, *, sample: int = SAMPLE_RECORDS) -> list[Path]:
    """Write the charts for ``entity`` from its saved model and a deterministic sample of ``records``."""
    from splink import DuckDBAPI, Linker

    from entity_resolution.incremental import MATCHERS

    module_name, standardize_name, _ = MATCHERS[entity]
    module = importlib.import_module(module_name)
    model = json.loads(Path(module.MODEL_PATH).read_text(encoding="utf-8"))
    model["retain_intermediate_calculation_columns"] = True  # the waterfall needs each comparison's weight
    model["retain_matching_columns"] = True
    rows = records.sort_by("record_uid").slice(0, sample) if records.num_rows > sample else records
    matching = getattr(module, standardize_name)(rows.to_pandas(), id_column="record_uid")
    folder = charts_dir(settings, entity)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    con = duck.connect()
    try:
        table = DuckDBAPI(connection=con).register(matching, dataset_display_name=f"{entity}_sample")
        linker = Linker(table, model, log_level="ERROR")
        written.append(_save(linker.visualisations.match_weights_chart(), folder / "match_weights.html"))
        written.append(_save(linker.visualisations.m_u_parameters_chart(), folder / "m_u_parameters.html"))
        predictions = linker.inference.predict(threshold_match_probability=0.01)
        uncertain = sorted(predictions.as_record_list(), key=lambda r: abs(r["match_probability"] - 0.5))[:20]
        if uncertain:
            chart = linker.visualisations.waterfall_chart(uncertain, remove_sensitive_data=False)
            written.append(_save(chart, folder / "waterfall_uncertain_pairs.html"))
            clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, 0.9)
            studio = folder / "cluster_studio.html"
            linker.visualisations.cluster_studio_dashboard(predictions, clusters, str(studio), sampling_method="by_cluster_size",
                                                           sample_size=20, overwrite=True)
            written.append(studio)
    finally:
        con.close()
    return written


def _save(chart, path: Path) -> Path:  # noqa: ANN001 - a Splink chart
    tmp = path.with_suffix(".html.partial")
    tmp.write_text(chart.to_html(inline=True), encoding="utf-8")
    tmp.replace(path)
    return path
