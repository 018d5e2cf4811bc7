"""Incremental matching: a new delivery is scored against the city, not the city against itself.

After each published release the matching rows (standardized) and the scored pairs of every entity are kept
under ``resolve/_match/<entity>/``. The next run standardizes only records that are new or whose canonical
values changed, scores them with Splink 5's ``predict_within`` (among themselves) and ``predict_between``
(against the unchanged records), and keeps every earlier pair whose two records are unchanged. Clustering,
stable IDs and survivorship then run over the whole city as before (they are cheap). A retrained model, a
first run, or a run where most records changed falls back to scoring everything.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from catalog.canonical import CANONICAL_FIELDS
from entity_resolution import state_files
from entity_resolution.backends import get_backend
from zhiwang import duck

if TYPE_CHECKING:
    from entity_resolution.clustering import PairCodes
    from zhiwang.settings import Settings

# entity → (model module, standardize function, column whose valid value makes a pair decisive)
MATCHERS: dict[str, tuple[str, str, str]] = {
    "person": ("entity_resolution.models.person", "standardize_persons", "id_number"),
    "legal_entity": ("entity_resolution.models.legal_entity", "standardize_legal_entities", "uscc"),
    "building": ("entity_resolution.models.building", "standardize_buildings", "building_code"),
}
MATCH_INPUTS: dict[str, tuple[str, ...]] = {
    "person": ("name", "id_number", "birth_date", "phone", "residence_address"),
    "legal_entity": ("name", "uscc", "legal_rep_name", "legal_rep_id_number", "registered_address", "business_address",
                     "established_date", "phone", "district_code"),
    "building": ("building_code", "address", "district_code", "lon", "lat", "floors"),
}
"""The canonical fields each standardizer reads: only these go through pandas (a city's records with every
column as Python objects would not fit in memory); tests/entity_resolution/test_incremental.py checks them."""
log = logging.getLogger(__name__)
FULL_RESCORE_SHARE = 0.5
"""Above this share of new or changed records, scoring everything is as cheap and simpler."""
PAIR_COLUMNS = ["record_uid_l", "record_uid_r", "match_probability", "is_decisive"]


@dataclass
class Scored:
    pairs: pa.Table
    matching: pa.Table
    """Matching rows of every current record, with ``fingerprint``: what the next run starts from."""
    mode: str
    """full | incremental"""
    rescored: int
    fingerprints: pa.ChunkedArray | None = None
    """:func:`fingerprints` of the records, in their order."""
    cache_release: int | None = None
    """incremental: the release whose pairs the unchanged records' pairs were kept from."""
    encoded: PairCodes | None = None
    """``pairs`` encoded as positions among the records (clustering.encode_pairs gives the same), found on
    the way: a city's pairs need not be hashed again to cluster them."""
    pair_rows: tuple[np.ndarray, np.ndarray] | None = None
    """Positions of each pair's two records among the ``matching`` rows, kept in the match cache: the next
    run then places the cached pairs through their rows' positions instead of hashing millions of pair ends."""


def cache_dir(settings: Settings, entity: str) -> Path:
    return settings.home / "resolve" / "_match" / entity


def fingerprints(entity: str, records: pa.Table) -> pa.Array:
    """A hash of each record's canonical values: a changed value means the record is matched again."""
    con = duck.connect()
    try:
        con.register("r", records)
        fields = ", ".join(f"coalesce(CAST({f} AS VARCHAR), '∅')" for f in CANONICAL_FIELDS[entity] if f in records.column_names)
        return con.sql(f"SELECT md5(concat_ws('|', {fields})) AS fp FROM r").to_arrow_table().column("fp").combine_chunks()
    finally:
        con.close()


def _model(entity: str) -> tuple[Any, dict[str, Any], str]:
    module_name, _, _ = MATCHERS[entity]
    module = importlib.import_module(module_name)
    text = Path(module.MODEL_PATH).read_text(encoding="utf-8")
    return module, json.loads(text), hashlib.sha256(text.encode()).hexdigest()


def score(settings: Settings, entity: str, records: pa.Table, *, threshold: float = 0.5) -> Scored:
    """Scored pairs for the current records, reusing the last published run's work where it still holds."""
    _, model, model_sha = _model(entity)
    decisive = MATCHERS[entity][2]
    records = records.append_column("fingerprint", fingerprints(entity, records))
    cache = _load(settings, entity, model_sha)
    if cache is not None:
        from entity_resolution.clustering import _encode

        old_matching, old_pairs, cache_release, pair_rows = cache
        uids = records.column("record_uid").combine_chunks().cast(pa.string())
        # one hash pass puts the cached rows (and, from an older cache without their rows, both ends of the
        # cached pairs) at their record's position (-1: no longer a record); everything after is integer
        # work on a city's millions of rows
        if pair_rows is not None:
            unique, (row_at,) = _encode(uids, old_matching.column("unique_id"))
            left, right = (np.where(ends >= 0, row_at[np.maximum(ends, 0)], -1) for ends in pair_rows)
        else:
            unique, (row_at, left, right) = _encode(uids, old_matching.column("unique_id"),
                                                    old_pairs.column("record_uid_l"), old_pairs.column("record_uid_r"))
        if unique and not uids.null_count:
            found = row_at >= 0
            kept = np.zeros(len(row_at), dtype=bool)  # a cached row whose record has the same fingerprint now
            kept[found] = pc.equal(old_matching.column("fingerprint").filter(pa.array(found)),
                                   records.column("fingerprint").take(pa.array(row_at[found]))).to_numpy(zero_copy_only=False)
            unchanged = np.zeros(records.num_rows, dtype=bool)
            unchanged[row_at[kept]] = True
            changed = records.num_rows - int(unchanged.sum())
            if changed <= FULL_RESCORE_SHARE * max(records.num_rows, 1):
                both = (left >= 0) & (right >= 0)
                both[both] = unchanged[left[both]] & unchanged[right[both]]
                scored = _incremental(entity, records, unchanged, changed, old_matching.filter(pa.array(kept)),
                                      old_pairs.filter(pa.array(both)), model, decisive, threshold)
                scored.fingerprints, scored.cache_release = records.column("fingerprint"), cache_release
                scored.encoded = _encoded(uids, left[both], right[both], scored.pairs.slice(int(both.sum())))
                # the matching rows are the kept ones (cache order), then the rescored ones (record order)
                row = np.full(records.num_rows, -1, np.int64)
                row[row_at[kept]] = np.arange(int(kept.sum()))
                row[~unchanged] = np.arange(int(kept.sum()), int(kept.sum()) + changed)
                scored.pair_rows = tuple(np.where(ends >= 0, row[np.maximum(ends, 0)], -1)
                                         for ends in (scored.encoded.left, scored.encoded.right))
                return scored
    from entity_resolution.clustering import encode_pairs

    matching = _standardized(records, entity)
    pairs = get_backend().predict(model, matching.drop_columns(["fingerprint"]), None, decisive=decisive,
                                  threshold=threshold)
    encoded = encode_pairs(records.column("record_uid"), pairs)  # the matching rows are in record order
    return Scored(pairs=pairs, matching=matching, mode="full", rescored=records.num_rows,
                  fingerprints=records.column("fingerprint"), encoded=encoded, pair_rows=(encoded.left, encoded.right))


def _incremental(entity: str, records: pa.Table, unchanged: np.ndarray, changed: int, kept_rows: pa.Table,
                 kept_pairs: pa.Table, model: dict[str, Any], decisive: str, threshold: float) -> Scored:
    """``kept_rows``/``kept_pairs``: the cached matching rows of the unchanged records and the cached pairs
    between two of them. The pairs come back as the kept ones, then the new ones."""
    fresh = (_standardized(records.filter(pa.array(~unchanged)), entity) if changed
             else kept_rows.schema.empty_table())
    new_pairs = (get_backend().predict(model, fresh.drop_columns(["fingerprint"]), kept_rows.drop_columns(["fingerprint"]),
                                       decisive=decisive, threshold=threshold)
                 if fresh.num_rows else kept_pairs.schema.empty_table())
    matching = pa.concat_tables([kept_rows, fresh], promote_options="permissive")
    return Scored(pairs=pa.concat_tables([kept_pairs, new_pairs], promote_options="permissive"), matching=matching,
                  mode="incremental", rescored=changed)


def _encoded(uids: pa.Array, left: np.ndarray, right: np.ndarray, new_pairs: pa.Table) -> PairCodes:
    """The pair codes of kept pairs (``left``/``right``, known) followed by ``new_pairs`` (looked up: a
    delivery's new pairs are few, so only their uids are hashed)."""
    from entity_resolution.clustering import PairCodes, lookup

    new_left, new_right = (lookup(uids, new_pairs.column("record_uid_l"), new_pairs.column("record_uid_r"))
                           if new_pairs.num_rows else (np.zeros(0, np.int64), np.zeros(0, np.int64)))
    return PairCodes(uids=uids, left=np.concatenate([left, new_left]), right=np.concatenate([right, new_right]))


PARALLEL_MIN_RECORDS = 300_000
"""Records from which standardization is shared with a helper process on a second core (below, starting it
and shipping the records costs more than it saves). ``ZHIWANG_STANDARDIZE_WORKERS`` sets the number of
processes (default: the CPUs this process may use, at most 2; 1 = this process only)."""


def _standardized(records: pa.Table, entity: str) -> pa.Table:
    """The matching rows of ``records`` (plus their ``fingerprint``), in record order. A city's records are
    cut into equal parts standardized side by side, this process taking the first: standardization is Python
    and would otherwise leave the second core idle. Every value is standardized on its own, so the rows do not
    depend on how the records were cut."""
    from entity_resolution.standardize._pool import available_cpus, map_chunks
    from zhiwang.settings import worker_count

    inputs = ["record_uid", *(c for c in MATCH_INPUTS[entity] if c in records.column_names)]
    table = records.select(inputs)
    workers = worker_count("ZHIWANG_STANDARDIZE_WORKERS", available_cpus) if table.num_rows >= PARALLEL_MIN_RECORDS else 1
    parts: list[pa.Table] | None = None
    if workers > 1:
        size = -(-table.num_rows // workers)
        # each part as its own buffers: a pickled slice would carry the whole column with it
        chunks = [(entity, pa.concat_tables([table.slice(i * size, size)]).combine_chunks()) for i in range(workers)]
        results = map_chunks(_standardize_part, chunks, workers)
        try:
            parts = list(results) if results is not None else None
        except ChildProcessError as exc:  # parallelism is an optimisation: do it here instead
            log.info("standardizing %s records in one process: %s", entity, exc)
        del chunks
    if parts is None:
        parts = [_standardize_part((entity, table))]
    out = pa.concat_tables(parts, promote_options="permissive")
    return out.append_column("fingerprint", records.column("fingerprint"))


def _standardize_part(part: tuple[str, pa.Table]) -> pa.Table:
    """Matching rows of one part of the records (module level: helper processes import it by name)."""
    entity, table = part
    module_name, standardize_name, _ = MATCHERS[entity]
    standardize = getattr(importlib.import_module(module_name), standardize_name)
    frame = standardize(table.to_pandas(), id_column="record_uid")
    out = pa.Table.from_pandas(frame, preserve_index=False)
    # an all-empty column has no type of its own; text is what a later run will put there
    return out.cast(pa.schema([pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f for f in out.schema]))


def save_pending(folder: Path, scored: Scored, entity: str, release: int) -> None:
    """Keep this run's matching rows and pairs beside its pending golden tables (of ``release``)."""
    _, _, model_sha = _model(entity)
    folder.mkdir(parents=True, exist_ok=True)
    state_files.write(scored.matching, folder, "matching")
    state_files.write(scored.pairs, folder, "pairs")
    if scored.pair_rows is not None:
        kind = pa.int32() if scored.matching.num_rows < 2**31 else pa.int64()
        state_files.write(pa.table({"l": pa.array(scored.pair_rows[0], kind), "r": pa.array(scored.pair_rows[1], kind)}),
                          folder, "pair_rows")
    (folder / "model.sha256").write_text(model_sha, encoding="utf-8")
    (folder / "release").write_text(str(release), encoding="utf-8")


def promote(settings: Settings, entity: str, pending: Path) -> None:
    """After the release is recorded: the pending match cache becomes the one the next run starts from."""
    target = cache_dir(settings, entity)
    if not state_files.exists(pending, "matching"):
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    from entity_resolution.golden import replace_dir

    replace_dir(pending, target)  # moved, not copied: the pending folder goes once the release is out


def _load(settings: Settings, entity: str,
          model_sha: str) -> tuple[pa.Table, pa.Table, int | None, tuple[np.ndarray, np.ndarray] | None] | None:
    """The cached matching rows, pairs, their release and the pairs' row positions (None when the cache
    predates them or they do not fit its pairs and rows)."""
    folder = cache_dir(settings, entity)
    try:
        if (folder / "model.sha256").read_text(encoding="utf-8") != model_sha:
            return None  # a retrained model scores differently: start afresh
        release = (folder / "release").read_text(encoding="utf-8").strip() if (folder / "release").exists() else ""
        matching, pairs = state_files.read(folder, "matching"), state_files.read(folder, "pairs")
    except FileNotFoundError:
        return None
    rows = None
    if state_files.exists(folder, "pair_rows"):
        table = state_files.read(folder, "pair_rows")
        ends = tuple(table.column(c).to_numpy().astype(np.int64) for c in ("l", "r")) if table.num_rows else \
            (np.zeros(0, np.int64), np.zeros(0, np.int64))
        if table.num_rows == pairs.num_rows and all(e.max(initial=-1) < matching.num_rows for e in ends):
            rows = ends
    return matching, pairs, int(release) if release.isdigit() else None, rows
