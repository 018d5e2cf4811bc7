"""The city-scale benchmark behind ``zhiwang bench``: the demo city of N persons through the whole chain
(inbox → quality gate → resolution → golden release → district mirrors), once for the first delivery and
once for the second (≈1% changed, processed incrementally), beside a bare Splink dedupe of the same person
records; with time, rows/s and peak RSS per stage and pairwise accuracy against the city's ground truth.

Generated cities are kept under ``<root>/cities/p<N>-s<seed>-g<generator>/`` and reused by later runs with
the same persons, seed and generator code (generation prepares test data and is not part of the chain's
time). Each run works in a fresh ``<root>/run/`` that stays behind for inspection. The chain is called
directly, as ``zhiwang run`` does; the Airflow DAGs call the same functions.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zhiwang.errors import ConfigError
from zhiwang.metering import Meter, StageFigures, metered, prefixed, stage
from zhiwang.settings import Settings, get_settings

ENTITIES = ("person", "legal_entity", "building")
SECOND = "d2 "
"""Prefix of the second delivery's stage names."""


@dataclass
class BenchResult:
    persons: int
    seed: int
    stages: list[StageFigures] = field(default_factory=list)
    bare_splink: StageFigures | None = None
    bare_splink_f1: float | None = None
    pairwise: dict[str, dict[str, float | int]] = field(default_factory=dict)
    person_records: int = 0
    generated: bool = False
    """True when this run generated the city (False: reused from the cache)."""
    run_home: Path | None = None
    second_resolve: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per entity, how the second delivery was resolved: resolve_mode, resolved_records, records."""

    def chain(self, prefix: str = "") -> list[StageFigures]:
        """The stages of one delivery's chain (the first by default; ``SECOND`` for the second)."""
        return [s for s in self.stages if s.name != "generate" and s.name != "bare splink"
                and (s.name.startswith(SECOND) if prefix == SECOND else not s.name.startswith(SECOND))]

    @property
    def peak_rss(self) -> int:
        """The highest RSS while the chain ran, either delivery (the city's generation and the bare Splink run
        are not the chain)."""
        return max((s.peak_rss for s in self.chain() + self.chain(SECOND)), default=0)

    @property
    def total_s(self) -> float:
        return sum(s.seconds for s in self.chain())

    @property
    def second_delivery_s(self) -> float | None:
        second = self.chain(SECOND)
        return sum(s.seconds for s in second) if second else None

    def as_dict(self) -> dict[str, Any]:
        bare = self.bare_splink.seconds if self.bare_splink else None
        second = self.second_delivery_s
        return {
            "persons": self.persons, "seed": self.seed, "person_records": self.person_records,
            "stages": [{"name": s.name, "seconds": round(s.seconds, 2), "rows": s.rows,
                        "rows_per_s": round(s.rows / s.seconds) if s.rows and s.seconds else None,
                        "peak_rss_mb": round(s.peak_rss / 2**20)} for s in self.stages],
            "total_s": round(self.total_s, 1),
            "second_delivery_s": round(second, 1) if second is not None else None,
            "second_delivery_share": round(second / self.total_s, 3) if second is not None and self.total_s else None,
            "bare_splink_s": round(bare, 1) if bare is not None else None,
            "ratio": round(self.total_s / bare, 2) if bare else None,
            "peak_rss_mb": round(self.peak_rss / 2**20),
            "pairwise": self.pairwise, "bare_splink_f1": self.bare_splink_f1,
            "second_delivery_resolve": self.second_resolve,
            "city_generated": self.generated, "run_home": str(self.run_home) if self.run_home else None,
        }


def city_cache(root: Path, persons: int, seed: int, delivery: int) -> Path:
    return root / "cities" / f"p{persons}-s{seed}-g{_generator_version()}" / f"d{delivery}"


def _generator_version() -> str:
    """A digest of the demo generator's code: a changed generator makes a different city, never a stale one."""
    import hashlib

    import zhiwang.demo as demo

    digest = hashlib.sha256()
    for path in sorted(Path(demo.__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:10]


def ensure_city(root: Path, catalog_dir: Path, persons: int, seed: int, deliveries: int) -> bool:
    """Generate the city's deliveries into the cache unless they are there; True when it generated."""
    from zhiwang.demo import generate_city

    generated = False
    for delivery in range(1, deliveries + 1):
        home = city_cache(root, persons, seed, delivery)
        if (home / "complete").is_file():
            continue
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        if delivery > 1:  # delivery N continues the truth of delivery N-1
            shutil.copytree(city_cache(root, persons, seed, delivery - 1) / "demo", home / "demo")
        generate_city(get_settings(home, catalog_dir), persons=persons, seed=seed, delivery=delivery)
        (home / "complete").write_text("generated by zhiwang bench\n", encoding="utf-8")
        generated = True
    return generated


def _deliver(root: Path, persons: int, seed: int, delivery: int, settings: Settings) -> None:
    """Put the cached delivery's files into the run's inbox (hard links: instant, and the cache stays intact
    whatever ingest does with its inbox)."""
    source = city_cache(root, persons, seed, delivery) / "inbox"
    for folder in sorted(p for p in source.iterdir() if p.is_dir()):
        target = settings.inbox / folder.name
        target.mkdir(parents=True, exist_ok=True)
        for path in sorted(folder.iterdir()):
            if path.is_file():
                os.link(path, target / path.name)


def run_bench(root: Path, catalog_dir: Path, persons: int, *, seed: int = 7, deliveries: int = 2,
              baseline: bool = True, on_stage: Callable[[StageFigures], None] | None = None) -> BenchResult:
    """Run the benchmark (see the module docstring) and return its figures."""
    import pyarrow.parquet as pq

    from zhiwang.pipeline import run_all
    from zhiwang.validation import load_valid_catalog

    if persons < 50:
        raise ConfigError(f"--persons {persons} is too small: a demo city needs at least 50 persons")
    if deliveries not in (1, 2):
        raise ConfigError(f"--deliveries {deliveries} must be 1 or 2")
    run_home = root / "run"
    shutil.rmtree(run_home, ignore_errors=True)
    settings = get_settings(run_home, catalog_dir)
    catalog = load_valid_catalog(settings.catalog_dir)
    result = BenchResult(persons=persons, seed=seed, run_home=run_home)
    meter = Meter(on_stage=on_stage)
    with metered(meter):
        with stage("generate"):
            result.generated = ensure_city(root, catalog_dir, persons, seed, deliveries)
        _deliver(root, persons, seed, 1, settings)
        summary = run_all(settings, catalog)
        result.person_records = summary.extra.get("entities", {}).get("person", {}).get("records", 0)
        if baseline:
            result.bare_splink, result.bare_splink_f1 = _bare_splink(settings, catalog, root, persons, seed)
        if deliveries == 2:
            _deliver(root, persons, seed, 2, settings)
            with prefixed(SECOND):
                second = run_all(settings, catalog)
            result.second_resolve = {e: {k: c.get(k) for k in ("resolve_mode", "resolved_records", "records")}
                                     for e, c in second.extra.get("entities", {}).items() if isinstance(c, dict)}
    result.stages = meter.stages
    truth = pq.read_table(city_cache(root, persons, seed, deliveries) / "demo" / "records.parquet")
    result.pairwise = _pairwise(settings, truth)
    return result


def _bare_splink(settings: Settings, catalog: Any, root: Path, persons: int, seed: int) -> tuple[StageFigures, float]:
    """Stock Splink (training, prediction, clustering) on the same person records the chain resolved."""
    import pyarrow.parquet as pq

    from entity_resolution.baseline import clusters_as_xref, plain_splink_dedupe
    from entity_resolution.evaluation import join_truth, pairwise_scores
    from entity_resolution.sources import load_source_records

    records = load_source_records(settings, catalog, "person", standardize=False)
    with stage("bare splink", rows=records.num_rows) as figures:
        run = plain_splink_dedupe(records, "person")
    truth = pq.read_table(city_cache(root, persons, seed, 1) / "demo" / "records.parquet")
    scores = pairwise_scores(join_truth(clusters_as_xref("person", run.clusters), truth, "person"))
    return figures, round(scores.f1, 5)


def _pairwise(settings: Settings, truth: Any) -> dict[str, dict[str, float | int]]:
    from entity_resolution.evaluation import join_truth, pairwise_scores
    from warehouse.registry import current_release, read_table

    release = current_release(settings)
    if release is None:
        return {}
    xref = read_table(settings, "xref", release.number)
    out = {}
    for entity in ENTITIES:
        scores = pairwise_scores(join_truth(xref, truth, entity)).as_dict()
        out[entity] = {k: scores[k] for k in ("precision", "recall", "f1", "records")}
    return out
