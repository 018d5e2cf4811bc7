"""Splink's charts for stewards, written as self-contained HTML (libraries inlined: intranets have no CDN)
under ``<home>/review/charts/<entity>/``: the model's match weights and m/u parameters, waterfall charts of
the least certain scored pairs, and a cluster studio dashboard over a sample of records.

The charts are a function of the model, the sample and the code that draws them: when none of these changed
since they were last written (most redeliveries leave the first records by ``record_uid`` as they were),
the charts on disk are kept instead of being drawn again.
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

    from entity_resolution.incremental import MATCH_INPUTS, MATCHERS

    module_name, standardize_name, _ = MATCHERS[entity]
    module = importlib.import_module(module_name)
    model_text = Path(module.MODEL_PATH).read_text(encoding="utf-8")
    model = json.loads(model_text)
    model["retain_intermediate_calculation_columns"] = True  # the waterfall needs each comparison's weight
    model["retain_matching_columns"] = True
    # the columns the standardizer reads: a redelivery's new batch IDs and delivery times change no chart
    rows = _sample(records, sample)
    rows = rows.select(["record_uid", *(c for c in MATCH_INPUTS[entity] if c in rows.column_names)])
    folder = charts_dir(settings, entity)
    stamp = _stamp(module.__file__, model_text, rows)
    drawn = _drawn(folder, stamp)
    if drawn is not None:
        return drawn
    matching = getattr(module, standardize_name)(rows.to_pandas(), id_column="record_uid")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / STAMP).unlink(missing_ok=True)  # the charts are being replaced: no stamp until all are
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
    (folder / STAMP).write_text(json.dumps({"stamp": stamp, "files": [p.name for p in written]}), encoding="utf-8")
    return written


STAMP = "charts.json"
"""What the charts in a folder were drawn from (a digest) and their file names."""


def _sample(records: pa.Table, sample: int) -> pa.Table:
    """The ``sample`` records first by ``record_uid`` (a partial selection: a city's records are not sorted
    whole for 3,000 of them)."""
    import pyarrow.compute as pc

    if records.num_rows <= sample:
        return records
    first = pc.bottom_k_unstable(records.column("record_uid"), k=sample)
    return records.take(first).sort_by("record_uid")


def _stamp(model_module: str, model_text: str, rows: pa.Table) -> str:
    """A digest of everything the charts are drawn from: the sample's values, the model and its
    standardizer, the code that draws them and Splink's version."""
    import hashlib

    import pyarrow as pa
    import splink

    from entity_resolution.sources import code_version

    digest = hashlib.sha256()
    for part in (splink.__version__, code_version(), model_text):
        digest.update(part.encode() + b"\0")
    for path in (Path(__file__), Path(model_module)):
        digest.update(path.read_bytes() + b"\0")
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, rows.schema) as writer:
        writer.write_table(rows)
    digest.update(sink.getvalue())
    return digest.hexdigest()


def _drawn(folder: Path, stamp: str) -> list[Path] | None:
    """The charts in ``folder`` when they were drawn from ``stamp`` and are all there."""
    try:
        kept = json.loads((folder / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(kept, dict) or kept.get("stamp") != stamp or not isinstance(kept.get("files"), list):
        return None
    names = [str(name) for name in kept["files"]]
    files = [folder / name for name in names if Path(name).name == name]  # plain names: nothing outside the folder
    if not files or len(files) != len(names) or not all(f.is_file() for f in files):
        return None
    return files


def _save(chart, path: Path) -> Path:  # noqa: ANN001 - a Splink chart
    tmp = path.with_suffix(".html.partial")
    tmp.write_text(chart.to_html(inline=True), encoding="utf-8")
    tmp.replace(path)
    return path
