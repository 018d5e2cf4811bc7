"""Wall time and peak memory per pipeline stage.

Stages mark themselves with :func:`stage` wherever they run (CLI, Airflow task, benchmark); that always
times them. A :class:`Meter` installed with :func:`metered` also samples the process's resident set size
while stages are open, so ``zhiwang bench`` can print each stage's peak RSS: the stage code does not
know whether it is being measured.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes(pid: int | str = "self") -> int:
    """The resident set size of this process, or of process ``pid`` (Linux /proc; 0 where unavailable or
    when the process is gone)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            return int(handle.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (Linux /proc; empty where unavailable)."""
    parents: dict[int, list[int]] = {}
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return []
    for entry in entries:
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
            # the command name is in parentheses and may hold spaces: the parent pid is the second field after it
            parents.setdefault(int(stat[stat.rindex(b")") + 2:].split()[1]), []).append(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


@dataclass
class StageFigures:
    name: str
    seconds: float = 0.0
    peak_rss: int = 0
    """Highest sampled RSS while the stage was open (bytes); 0 when no meter sampled it."""
    rows: int | None = None
    """Rows the stage processed, when it says (rows/s in the benchmark table)."""


@dataclass
class Meter:
    """Collects :class:`StageFigures` of every stage run while it is installed; samples RSS (this process and
    its child processes) every ``interval`` seconds from a daemon thread (a stage shorter than that still gets
    its start/end RSS)."""

    interval: float = 0.05
    stages: list[StageFigures] = field(default_factory=list)
    on_stage: Callable[[StageFigures], None] | None = None
    """Called as each stage ends (progress output of a long benchmark)."""
    peak_rss: int = 0
    children_every: float = 1.0
    """Seconds between scans for child processes (their RSS is read at every sample)."""
    _children: list[int] = field(default_factory=list)
    _scanned: float = float("-inf")
    _open: list[StageFigures] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> None:
        # worker processes a stage starts (parallel ingest) count too: the machine must hold them all
        now = time.monotonic()
        if now - self._scanned > self.children_every:
            self._children, self._scanned = descendants(os.getpid()), now
        rss = rss_bytes() + sum(rss_bytes(pid) for pid in self._children)
        with self._lock:
            self.peak_rss = max(self.peak_rss, rss)
            for figures in self._open:
                figures.peak_rss = max(figures.peak_rss, rss)

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.wait(self.interval):
                self.sample()

        self._thread = threading.Thread(target=loop, name="zhiwang-meter", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def opened(self, figures: StageFigures) -> None:
        with self._lock:
            self._open.append(figures)
        self.sample()

    def closed(self, figures: StageFigures) -> None:
        self.sample()
        with self._lock:
            self._open.remove(figures)
            self.stages.append(figures)
        if self.on_stage is not None:
            self.on_stage(figures)


_METER: contextvars.ContextVar[Meter | None] = contextvars.ContextVar("zhiwang_meter", default=None)
_PREFIX: contextvars.ContextVar[str] = contextvars.ContextVar("zhiwang_stage_prefix", default="")


@contextlib.contextmanager
def metered(meter: Meter) -> Iterator[Meter]:
    """Install ``meter`` for the stages run inside the block, sampling RSS meanwhile."""
    token = _METER.set(meter)
    meter.start()
    try:
        yield meter
    finally:
        meter.stop()
        _METER.reset(token)


@contextlib.contextmanager
def prefixed(prefix: str) -> Iterator[None]:
    """Name the stages run inside the block ``<prefix><name>`` (e.g. the second delivery's stages)."""
    token = _PREFIX.set(_PREFIX.get() + prefix)
    try:
        yield
    finally:
        _PREFIX.reset(token)


@contextlib.contextmanager
def stage(name: str, rows: int | None = None) -> Iterator[StageFigures]:
    """Time the block as stage ``name``; set ``figures.rows`` inside it when the row count is known later."""
    figures = StageFigures(name=_PREFIX.get() + name, rows=rows)
    meter = _METER.get()
    if meter is not None:
        meter.opened(figures)
    start = time.perf_counter()
    try:
        yield figures
    finally:
        figures.seconds = time.perf_counter() - start
        if meter is not None:
            meter.closed(figures)
