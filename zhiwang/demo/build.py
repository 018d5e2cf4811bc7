"""Turn the true city into one department's extract: the rows it covers, its column names, its date
formats, and the mistakes its rows carry, with a record of every mistake for the ground truth."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from catalog.models import Resource
from zhiwang.demo import noise as nz
from zhiwang.demo.extracts import ExtractSpec
from zhiwang.demo.world import World

MIN_PER_KIND = 2
"""Every kind of mistake shows at least this often per column, so a small demo city still exercises it."""
DATE_VARIANT_RATE = 0.06
EXCEL_SERIAL_RATE = 0.3
BROKEN_RATE = 0.001


@dataclass
class Extract:
    resource: str
    entity: str
    columns: dict[str, np.ndarray]
    """Column → values; object arrays (strings, dates for Excel, numbers, None)."""
    entity_index: np.ndarray
    noise: dict[int, list[str]]
    """Row → kinds of mistakes (rows without any are absent)."""
    quarantine: np.ndarray
    record_key: np.ndarray
    """The record key as the pipeline sees it: key columns joined with '|', None when a part is missing."""

    @property
    def rows(self) -> int:
        return len(self.entity_index)


def _draws(world: World, entity: str, resource: str) -> nz.Draws:
    if entity == "person":
        return nz.Draws(world.seed, world.n_persons_base, len(world.persons["name"]), resource)
    if entity == "legal_entity":
        return nz.Draws(world.seed, world.n_firms_base, len(world.firms["name"]), resource)
    return nz.Draws(world.seed, world.n_buildings_base, len(world.buildings["building_code"]), resource)


def build_extract(spec: ExtractSpec, world: World, resource: Resource, file_format: str) -> Extract:
    d = _draws(world, spec.entity, spec.resource)
    ent = np.flatnonzero(spec.covers(world, d))
    cols: dict[str, np.ndarray] = {c.name: np.asarray(c.values(world, ent, d)) for c in spec.columns}
    noise: dict[int, list[str]] = defaultdict(list)

    for c in spec.columns:
        for kind, rate in nz.MUTATIONS.get(c.role, []):
            rows = nz.pick(d.uniform(c.name, kind)[ent], rate, MIN_PER_KIND)
            if len(rows):
                _mutate(cols[c.name], rows, d.ints(c.name, kind)[ent], nz.FUNCTIONS[kind], kind, noise)
    for c in spec.columns:
        if c.role == "date":
            cols[c.name] = _format_dates(cols[c.name], resource.field_by_column(c.name), file_format, d, ent, noise)

    required = {f.column for f in resource.fields if f.required} | set(resource.record_key)
    for c in spec.columns:
        if c.name in required:
            continue
        arr = cols[c.name] = cols[c.name].astype(object)
        rows = nz.pick(d.uniform(c.name, "missing")[ent], c.missing_rate, 1)
        rows = rows[np.array([arr[i] is not None for i in rows], dtype=bool)] if len(rows) else rows
        arr[rows] = None
        for i in rows:
            noise[int(i)].append("missing_value")

    n = len(ent)
    dup = nz.pick(d.uniform("duplicate")[ent], spec.duplicate_rate, MIN_PER_KIND)
    if len(dup):
        copies = {k: v[dup].astype(object) for k, v in cols.items()}
        copies.update(spec.duplicate_keys(world, ent[dup], copies))
        cols = {k: np.concatenate([v.astype(object), copies[k]]) for k, v in cols.items()}
        for j, i in enumerate(dup):
            noise[n + j] = [*noise.get(int(i), []), "duplicate"]
        ent = np.concatenate([ent, ent[dup]])
    quarantine = np.zeros(len(ent), dtype=bool)
    _break_rows(spec, resource, cols, d, ent, n, noise, quarantine)

    keys = _record_keys(cols, resource.record_key)
    order = pc.sort_indices(pa.array(keys, pa.string()), null_placement="at_end").to_numpy()
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return Extract(
        spec.resource, spec.entity, {k: v[order] for k, v in cols.items()}, ent[order],
        {int(inverse[i]): kinds for i, kinds in noise.items() if kinds}, quarantine[order], keys[order],
    )


def _mutate(arr: np.ndarray, rows: np.ndarray, r: np.ndarray, func, kind: str,  # noqa: ANN001
            noise: dict[int, list[str]]) -> None:
    for i in rows:
        value = arr[i]
        if value is None or not isinstance(value, str):
            continue
        new = func(value, int(r[i]))
        if new is not None and new != value:
            arr[i] = new
            noise[int(i)].append(kind)


def _format_dates(dates: np.ndarray, field, file_format: str, d: nz.Draws, ent: np.ndarray,  # noqa: ANN001
                  noise: dict[int, list[str]]) -> np.ndarray:
    """Dates as the department writes them: the first catalog format, some rows in another listed format;
    in Excel real date cells, some typed as serial day numbers."""
    name = field.column
    formats = field.date_formats()
    if file_format == "xlsx":
        out = dates.astype("datetime64[D]").astype(object)
        variants = [f for f in formats if f != "%Y-%m-%d"]
        serial = nz.pick(d.uniform(name, "serial")[ent], EXCEL_SERIAL_RATE, MIN_PER_KIND)
        for i in serial:
            out[i] = nz.excel_serial(out[i])
            noise[int(i)].append("date_excel_serial")
    else:
        ts = pa.array(dates.astype("datetime64[D]")).cast(pa.timestamp("s"))
        out = pc.strftime(ts, format=formats[0]).to_numpy(zero_copy_only=False).astype(object)
        variants = formats[1:]
    if variants:
        rows = nz.pick(d.uniform(name, "format")[ent], DATE_VARIANT_RATE, MIN_PER_KIND)
        r = d.ints(name, "format")[ent]
        for i in rows:
            day = dates[i].astype("datetime64[D]").astype(object)
            if file_format == "xlsx" and "date_excel_serial" in noise.get(int(i), []):
                continue
            out[i] = nz.format_date(day, variants[int(r[i]) % len(variants)])
            noise[int(i)].append("date_format")
    return out


def _break_rows(spec: ExtractSpec, resource: Resource, cols: dict[str, np.ndarray], d: nz.Draws, ent: np.ndarray,
                n_first: int, noise: dict[int, list[str]], quarantine: np.ndarray) -> None:
    """A few rows the quality gate must stop: a missing record key; an unreadable required date."""
    first = ent[:n_first]
    rows = nz.pick(d.uniform("broken_key")[first], BROKEN_RATE, MIN_PER_KIND)
    for column in resource.record_key:
        cols[column][rows] = None
    for i in rows:
        noise[int(i)].append("broken_missing_key")
    quarantine[rows] = True
    dated = [f.column for f in resource.fields if f.required and f.type == "date" and f.column in cols]
    if not dated:
        return
    rows = nz.pick(d.uniform("broken_date")[first], BROKEN_RATE, MIN_PER_KIND + 1)
    rows = rows[~quarantine[rows]]
    r = d.ints("broken_date")[first]
    for i in rows:
        cols[dated[0]][i] = nz.BROKEN_DATES[int(r[i]) % len(nz.BROKEN_DATES)]
        noise[int(i)].append("broken_bad_date")
    quarantine[rows] = True


def _record_keys(cols: dict[str, np.ndarray], key_columns: list[str]) -> np.ndarray:
    if len(key_columns) == 1:  # keys are generated as text already: share the strings
        return np.array([None if v is None else str(v) for v in cols[key_columns[0]]], dtype=object)
    parts = [pa.array([None if v is None else str(v) for v in cols[c]], pa.string()) for c in key_columns]
    if len(parts) == 1:
        return parts[0].to_numpy(zero_copy_only=False).astype(object)
    return pc.binary_join_element_wise(*parts, "|").to_numpy(zero_copy_only=False).astype(object)
