"""Generate the demo city: departments' extracts into the inbox, ground truth into ``<home>/demo``."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pyarrow as pa

from catalog.models import Catalog
from zhiwang.demo import truth
from zhiwang.demo.build import build_extract
from zhiwang.demo.extracts import SPECS
from zhiwang.demo.world import World, generate_world
from zhiwang.demo.writers import file_name, source_format, write_extract
from zhiwang.errors import ConfigError
from zhiwang.settings import Settings


def generate_city(settings: Settings, persons: int, seed: int, delivery: int = 1,
                  catalog: Catalog | None = None) -> dict[str, Any]:
    """Write delivery ``delivery`` of every catalog resource the generator knows, and the ground truth.

    Deterministic per ``(seed, persons)``: delivery 2 is delivery 1 plus a month of births, deaths, moves,
    new phones and new companies. Returns a summary (files, rows, mistakes per resource, timings).
    """
    if persons < 50:
        raise ConfigError(f"--persons {persons} is too small: a demo city needs at least 50 persons")
    if delivery < 1:
        raise ConfigError(f"--delivery {delivery} must be 1 or more")
    if catalog is None:
        from zhiwang.validation import load_valid_catalog

        catalog = load_valid_catalog(settings.catalog_dir)
    started = time.perf_counter()
    resources = [catalog.resources[rid] for rid in SPECS if rid in catalog.resources]
    if not resources:
        raise ConfigError(f"the catalog at {catalog.directory} has none of the demo city's resources "
                          f"({', '.join(SPECS)}); use the city's catalog (--catalog catalog)")
    skipped = sorted(set(catalog.resources) - set(SPECS))
    _check_columns(resources)

    meta = truth.read_meta(settings.demo)
    same_city = meta.get("seed") == seed and meta.get("persons") == persons
    earlier: list[pa.Table] = []
    if delivery > 1 and same_city and (settings.demo / "records.parquet").is_file():
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        old = pq.read_table(settings.demo / "records.parquet")
        earlier.append(old.filter(pc.less(old["delivery"], delivery)))
        truth_from = delivery
    else:
        truth_from = 1

    timings: dict[str, float] = {}
    record_tables = list(earlier)
    summary_resources: dict[str, Any] = {}
    world: World | None = None
    for d in range(truth_from, delivery + 1):
        t0 = time.perf_counter()
        world = generate_world(seed, persons, d)
        timings[f"world_d{d}"] = round(time.perf_counter() - t0, 2)
        for res in resources:
            t0 = time.perf_counter()
            fmt = source_format(res)
            ex = build_extract(SPECS[res.id], world, res, fmt)
            name = file_name(res.id, world.as_of, d, fmt)
            if d == delivery:
                path = write_extract(ex, res, settings.inbox_for(res.id), name, world.as_of)
                noise = Counter(k for kinds in ex.noise.values() for k in kinds)
                summary_resources[res.id] = {
                    "file": str(path), "format": fmt, "encoding": res.source.options().get("encoding"),
                    "rows": ex.rows, "expected_quarantine": int(ex.quarantine.sum()),
                    "noisy_rows": len(ex.noise), "noise": dict(sorted(noise.items())),
                }
            record_tables.append(truth.records_table(ex, world, d, name))
            del ex  # free this extract before the next one is built
            timings[f"{res.id}_d{d}"] = round(time.perf_counter() - t0, 2)
    assert world is not None

    t0 = time.perf_counter()
    for stem, table in truth.entity_tables(world).items():
        truth.write_parquet(table, settings.demo / f"{stem}.parquet")
    truth.write_parquet(pa.concat_tables(record_tables), settings.demo / "records.parquet")
    truth.write_meta(settings.demo, {"seed": seed, "persons": persons, "delivery": delivery,
                                     "as_of": str(world.as_of), "resources": [r.id for r in resources]})
    timings["truth"] = round(time.perf_counter() - t0, 2)
    totals = Counter()
    for info in summary_resources.values():
        totals.update(info["noise"])
    return {
        "seed": seed, "persons": persons, "delivery": delivery, "as_of": str(world.as_of),
        "entities": {"persons": int(world.persons["alive"].sum()), "legal_entities": len(world.firms["name"]),
                     "buildings": len(world.buildings["building_code"])},
        "events": world.events, "resources": summary_resources, "noise_totals": dict(sorted(totals.items())),
        "skipped_resources": skipped, "truth": str(settings.demo), "seconds": round(time.perf_counter() - started, 2),
        "timings": timings,
    }


def _check_columns(resources: list) -> None:  # noqa: ANN001 - list[Resource]
    """The demo knows each department's columns; a catalog that renamed a required one cannot be served."""
    problems = []
    for res in resources:
        known = {c.name for c in SPECS[res.id].columns}
        missing = [f.column for f in res.fields if f.column not in known and (f.required or f.column in res.record_key)]
        if missing:
            problems.append(f"{res.id}: {', '.join(missing)}")
    if problems:
        raise ConfigError("the demo city cannot fill these required catalog columns (renamed in your catalog?): "
                          + "; ".join(problems) + ". Use the city's catalog, or rename them back.")
