"""The true state of the demo city, per delivery.

Delivery 1 is drawn from the seed; each later delivery starts from the previous one and applies a month of
life with its own generator: deaths, births, moves, new phones, new companies, new legal representatives,
job changes. Appended entities keep the ids of earlier ones stable.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np

from zhiwang.demo.firms import BRAND_CHARS, assign_employers, generate_firms, make_usccs
from zhiwang.demo.people import generate_persons, make_id_numbers, mobiles
from zhiwang.demo.places import add_blocks, building_address, generate_buildings
from zhiwang.demo.strings import cat, num, weighted

FIRST_AS_OF = np.datetime64("2026-09-01")
DAYS_PER_DELIVERY = 30


@dataclass
class World:
    seed: int
    delivery: int
    as_of: np.datetime64
    buildings: dict[str, np.ndarray]
    persons: dict[str, np.ndarray]
    firms: dict[str, np.ndarray]
    n_persons_base: int
    n_firms_base: int
    n_buildings_base: int
    events: dict[str, int] = field(default_factory=dict)
    """What changed in the last delivery: counts by kind (births, deaths, moves, …)."""


def sizes(persons: int) -> tuple[int, int]:
    """(firms, buildings) for a city of ``persons`` residents."""
    return max(10, persons // 15), max(20, persons // 40)


def generate_world(seed: int, persons: int, delivery: int = 1) -> World:
    if persons < 50:
        raise ValueError("a demo city needs at least 50 persons")
    random.seed(seed)  # nothing here uses it, but keep every source of randomness pinned
    rng = np.random.default_rng(seed)
    n_firms, n_buildings = sizes(persons)
    b = generate_buildings(rng, n_buildings)
    p = generate_persons(rng, persons, b, FIRST_AS_OF)
    f = generate_firms(rng, n_firms, b, p, FIRST_AS_OF)
    assign_employers(rng, p, f, FIRST_AS_OF)
    _init_history(p, f, b)
    world = World(seed, 1, FIRST_AS_OF, b, p, f, persons, n_firms, n_buildings)
    for d in range(2, delivery + 1):
        _evolve(world, np.random.default_rng([seed, d]), d)
    return world


def _init_history(p: dict[str, np.ndarray], f: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    for table in (p, f, b):
        n = len(table["floors"] if table is b else table["name"])
        table["first_delivery"] = np.ones(n, dtype=np.int64)
        table["changed_delivery"] = np.zeros(n, dtype=np.int64)
        table["changed_fields"] = np.full(n, "", dtype=object)
    p["death_delivery"] = np.zeros(len(p["name"]), dtype=np.int64)


def _append(table: dict[str, np.ndarray], new: dict[str, np.ndarray]) -> None:
    for key in list(table):
        table[key] = np.concatenate([table[key], new[key]])


def _mark(table: dict[str, np.ndarray], idx: np.ndarray, what: str, delivery: int) -> None:
    table["changed_fields"][idx] = [f"{old},{what}" if old and d == delivery else what
                                    for old, d in zip(table["changed_fields"][idx], table["changed_delivery"][idx], strict=True)]
    table["changed_delivery"][idx] = delivery


def _evolve(w: World, rng: np.random.Generator, delivery: int) -> None:
    w.delivery = delivery
    w.as_of = w.as_of + np.timedelta64(DAYS_PER_DELIVERY, "D")
    b, p, f = w.buildings, w.persons, w.firms
    n = len(p["name"])
    alive = np.flatnonzero(p["alive"])
    age = (w.as_of - p["birth_date"][alive]).astype(np.int64) / 365.25
    # about 0.25 % a month overall, mostly the old
    died = alive[rng.random(len(alive)) < np.where(age > 75, 0.02, np.where(age > 60, 0.004, 0.0004))]
    p["alive"][died] = False
    p["death_delivery"][died] = delivery

    # new towers are completed first, so movers and new companies can go there
    nb = len(b["building_code"])
    kb = max(1, nb // 200)
    towers = add_blocks(rng, b, kb)
    towers.update(first_delivery=np.full(kb, delivery), changed_delivery=np.zeros(kb, dtype=np.int64),
                  changed_fields=np.full(kb, "", dtype=object))
    _append(b, towers)
    raised = np.flatnonzero(rng.random(nb) < 0.005)  # 加层: a few buildings gain floors
    b["floors"][raised] += rng.integers(1, 3, len(raised))
    _mark(b, raised, "floors", delivery)

    k = max(2, n // 200)
    born = generate_persons(rng, k, b, w.as_of, id_offset=n)
    born["birth_date"] = w.as_of - rng.integers(1, DAYS_PER_DELIVERY, k).astype("timedelta64[D]")
    seq = rng.integers(0, 500, k) * 2 + (born["gender"] == "男")
    born["id_number"] = make_id_numbers(born["birth_region"], born["birth_date"], seq)
    born["phone"][:] = None
    born.update(first_delivery=np.full(k, delivery), changed_delivery=np.zeros(k, dtype=np.int64),
                changed_fields=np.full(k, "", dtype=object), death_delivery=np.zeros(k, dtype=np.int64))
    # a newborn's number must not clash with anyone's
    clash = np.isin(born["id_number"], p["id_number"])
    born["id_number"][clash] = make_id_numbers(born["birth_region"][clash], born["birth_date"][clash],
                                               (seq[clash] + 2) % 1000)
    _append(p, born)

    still = np.flatnonzero(p["alive"][:n])
    moved = still[rng.random(len(still)) < 0.02]
    cap = b["floors"] * 1.0
    new_b = weighted(rng, cap, len(moved))
    room = (1 + (rng.random(len(moved)) * b["floors"][new_b]).astype(np.int64)) * 100 + rng.integers(1, 9, len(moved))
    p["building"][moved], p["room"][moved] = new_b, room
    p["residence_address"][moved] = cat(building_address(b, new_b), num(room), "室")
    p["district_code"][moved], p["grid_code"][moved] = b["district_code"][new_b], b["grid_code"][new_b]
    _mark(p, moved, "residence_address", delivery)

    rephoned = still[(rng.random(len(still)) < 0.01) & np.array([x is not None for x in p["phone"][still]])]
    p["phone"][rephoned] = mobiles(rng, len(rephoned))
    _mark(p, rephoned, "phone", delivery)
    jobs = still[rng.random(len(still)) < 0.02]
    before = p["employer"][jobs].copy()
    assign_employers(rng, p, f, w.as_of, only=jobs)
    _mark(p, jobs[p["employer"][jobs] != before], "employer", delivery)

    nf = len(f["name"])
    kf = max(1, nf // 100)
    new_firms = generate_firms(rng, kf, b, p, w.as_of, id_offset=nf)
    new_firms["established_date"] = w.as_of - rng.integers(1, DAYS_PER_DELIVERY, kf).astype("timedelta64[D]")
    new_firms.update(first_delivery=np.full(kf, delivery), changed_delivery=np.zeros(kf, dtype=np.int64),
                     changed_fields=np.full(kf, "", dtype=object))
    _append(f, new_firms)
    _dedupe_new_firms(rng, f, nf)
    rep = np.flatnonzero(rng.random(nf) < 0.01)
    alive_adults = np.flatnonzero(p["alive"] & ((w.as_of - p["birth_date"]).astype(np.int64) > 22 * 365))
    f["legal_rep"][rep] = rng.choice(alive_adults, len(rep))
    f["legal_rep_name"][rep] = p["name"][f["legal_rep"][rep]]
    f["legal_rep_id_number"][rep] = p["id_number"][f["legal_rep"][rep]]
    _mark(f, rep, "legal_rep_name,legal_rep_id_number", delivery)
    # a legal representative who died is replaced
    dead_rep = np.flatnonzero(~p["alive"][f["legal_rep"]])
    f["legal_rep"][dead_rep] = rng.choice(alive_adults, len(dead_rep))
    f["legal_rep_name"][dead_rep] = p["name"][f["legal_rep"][dead_rep]]
    f["legal_rep_id_number"][dead_rep] = p["id_number"][f["legal_rep"][dead_rep]]
    _mark(f, dead_rep, "legal_rep_name,legal_rep_id_number", delivery)
    relocated = np.flatnonzero(rng.random(nf) < 0.01)
    nb = weighted(rng, np.where(b["kind"] == 1, 8.0, 1.0), len(relocated))
    f["business_building"][relocated] = nb
    f["business_address"][relocated] = cat(building_address(b, nb), num(rng.integers(101, 2020, len(relocated))), "室")
    _mark(f, relocated, "business_address", delivery)
    w.events = {"new_buildings": kb, "buildings_raised": len(raised), "births": k, "deaths": len(died), "moves": len(moved), "phone_changes": len(rephoned),
                "job_changes": int((p["employer"][jobs] != before).sum()), "new_firms": kf,
                "legal_rep_changes": len(rep) + len(dead_rep), "firm_relocations": len(relocated)}


def _dedupe_new_firms(rng: np.random.Generator, f: dict[str, np.ndarray], first_new: int) -> None:
    """A new company's name or credit code must not repeat an existing one (the registry refuses it)."""
    for _ in range(20):
        _, first = np.unique(f["name"], return_index=True)
        dup = np.setdiff1d(np.arange(len(f["name"])), first)
        dup = dup[dup >= first_new]
        if not len(dup):
            break
        extra = np.array(BRAND_CHARS, dtype=object)[rng.integers(0, len(BRAND_CHARS), len(dup))]
        f["name"][dup] = [n.replace("深圳市", "深圳市" + e, 1) if n.startswith("深圳市") else e + n
                          for n, e in zip(f["name"][dup], extra, strict=True)]
    for _ in range(20):
        _, first = np.unique(f["uscc"], return_index=True)
        dup = np.setdiff1d(np.arange(len(f["uscc"])), first)
        dup = dup[dup >= first_new]
        if not len(dup):
            break
        f["uscc"][dup] = make_usccs(rng, np.array([u[2:8] for u in f["uscc"][dup]], dtype=object))
