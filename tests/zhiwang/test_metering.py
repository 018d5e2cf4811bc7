"""Stage metering: time always, peak RSS when a meter is installed, names prefixed per delivery."""

from __future__ import annotations

import time

from zhiwang.metering import Meter, metered, prefixed, rss_bytes, stage


def test_a_stage_is_timed_without_a_meter() -> None:
    with stage("alone", rows=3) as figures:
        sum(range(10_000))
    assert figures.seconds > 0 and figures.rows == 3 and figures.peak_rss == 0


def test_the_meter_sees_the_memory_a_stage_takes_and_gives_back() -> None:
    seen = []
    with metered(Meter(interval=0.01, on_stage=seen.append)) as meter:
        with stage("small"):
            pass
        with prefixed("d2 "), stage("big") as big:
            block = bytearray(200 * 2**20)  # 200 MB, touched so that it is resident
            block[:: 4096] = b"x" * len(block[:: 4096])
            time.sleep(0.1)  # the sampler thread's turn while the block is resident
            del block
    assert [s.name for s in meter.stages] == ["small", "d2 big"] == [s.name for s in seen]
    small, big = meter.stages
    assert big.peak_rss - small.peak_rss >= 150 * 2**20
    assert meter.peak_rss >= big.peak_rss
    assert rss_bytes() < big.peak_rss


def test_nested_stages_each_get_figures() -> None:
    with metered(Meter()) as meter, stage("outer"), stage("inner"):
        pass
    assert [s.name for s in meter.stages] == ["inner", "outer"]
    assert all(s.peak_rss > 0 for s in meter.stages)
