"""Killing a publish at any point never leaves a half release readable: N-1 stays current, N is absent
or complete, and the next publish succeeds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import warehouse.release as release_mod
from warehouse.layout import registry_dir
from warehouse.registry import current_release, read_table, verify_release
from warehouse.release import CRASH_POINTS, publish_release
from warehouse.synthetic import change_persons, synthetic_tables

REPO = Path(__file__).resolve().parents[2]


class SimulatedCrash(Exception):
    pass


def _sorted(table):
    return table.sort_by("golden_id")


def _assert_release_one_is_what_readers_see(wh, first_person) -> None:
    assert current_release(wh).number == 1
    assert not (registry_dir(wh) / "2.json").exists()
    assert _sorted(read_table(wh, "person")).equals(first_person)
    assert verify_release(wh, 1) == []


@pytest.mark.slow
def test_a_crash_at_every_step_leaves_the_previous_release(wh, catalog, monkeypatch):
    tables = synthetic_tables(100, seed=3)
    publish_release(wh, catalog, tables, build_mirrors=False)
    first_person = _sorted(read_table(wh, "person"))
    changed, _ = change_persons(tables, 0.05)
    assert len(CRASH_POINTS) >= 10
    for point in CRASH_POINTS:  # crashes pile up orphan Delta commits: each later attempt starts from them

        def crash(step: str, point: str = point) -> None:
            if step == point:
                raise SimulatedCrash(step)

        monkeypatch.setattr(release_mod, "_checkpoint_hook", crash)
        with pytest.raises(SimulatedCrash):
            publish_release(wh, catalog, changed, build_mirrors=False)
        _assert_release_one_is_what_readers_see(wh, first_person)
    # past the commit point a crash leaves release 2 complete
    def crash_after_commit(step: str) -> None:
        if step == "recorded":
            raise SimulatedCrash(step)

    monkeypatch.setattr(release_mod, "_checkpoint_hook", crash_after_commit)
    with pytest.raises(SimulatedCrash):
        publish_release(wh, catalog, changed, build_mirrors=False)
    second = current_release(wh)
    assert second.number == 2 and verify_release(wh, 2) == []
    assert _sorted(read_table(wh, "person")).equals(_sorted(changed["person"].cast(first_person.schema)))
    assert read_table(wh, "changes", 2).filter(read_table(wh, "changes", 2).column("release").to_numpy() == 2).num_rows == 5


_CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import pyarrow.parquet as pq
    import warehouse.release as release_mod
    from warehouse.synthetic import synthetic_catalog
    from zhiwang.settings import get_settings

    home, data, point, marker = sys.argv[1:5]

    def stall(step):
        if step == point:
            Path(marker).write_text(step)
            time.sleep(120)

    release_mod._checkpoint_hook = stall
    tables = {p.stem: pq.read_table(p) for p in Path(data).glob("*.parquet")}
    release_mod.publish_release(get_settings(home, home), synthetic_catalog(), tables, build_mirrors=False)
""")


@pytest.mark.slow
def test_sigkill_of_a_real_publish_process(wh, catalog, tmp_path):
    point = "after_write:links"  # five of six tables committed: the most tempting half release
    tables = synthetic_tables(100, seed=4)
    publish_release(wh, catalog, tables, build_mirrors=False)
    first_person = _sorted(read_table(wh, "person"))
    changed, _ = change_persons(tables, 0.05)
    data = tmp_path / "data"
    data.mkdir()
    for name, table in changed.items():
        pq.write_table(table, data / f"{name}.parquet")
    marker = tmp_path / "marker"
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(wh.home), str(data), point, str(marker)], cwd=REPO,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        deadline = time.monotonic() + 90
        while not marker.exists():
            assert child.poll() is None, "publish process ended before reaching the crash point"
            assert time.monotonic() < deadline, "publish process never reached the crash point"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    _assert_release_one_is_what_readers_see(wh, first_person)
    # the lock died with the process: the next publish goes through
    assert publish_release(wh, catalog, changed, build_mirrors=False).number == 2
