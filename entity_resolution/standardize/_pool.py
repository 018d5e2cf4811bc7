"""Run a standardizer over chunks of distinct values in helper processes, results in input order.

``multiprocessing`` with spawn or forkserver re-runs the caller's ``__main__`` script in every child (a
script without an ``if __name__ == "__main__"`` guard would redo all its work there), and fork copies a
process whose DuckDB, Arrow or Airflow threads may hold locks. So the helpers are plain interpreters
(``python -m entity_resolution.standardize._pool module:function``) fed pickled chunks over a pipe; the
calling process parses its share of the chunks meanwhile. Chunk ``i`` always goes to participant
``i % n`` and results are read back in order, so the output does not depend on timing or on ``workers``.

Any failure of a helper (cannot start, dies, bad answer) makes :func:`map_chunks` return None, and the
caller computes everything itself: parallelism is an optimisation, never a requirement.
"""

from __future__ import annotations

import importlib
import itertools
import logging
import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)
_REPO = str(Path(__file__).resolve().parents[2])


def available_cpus(limit: int = 2) -> int:
    """CPUs this process may run on, at most ``limit``."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(limit, count))


def _send(stream: IO[bytes], obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(len(data).to_bytes(8, "little"))
    stream.write(data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    header = stream.read(8)
    if len(header) < 8:
        raise EOFError("helper process closed its pipe")
    size = int.from_bytes(header, "little")
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("helper process closed its pipe mid-answer")
    return pickle.loads(data)  # noqa: S301 - our own child process, over a private pipe


def map_chunks(function: Callable[[Any], Any], chunks: Iterable[Any], workers: int) -> Iterator[Any] | None:
    """``function(chunk)`` for every chunk, in order, computed by this process and ``workers - 1`` helpers.

    ``function`` must be a module-level function (the helpers import it by name). Returns None, having
    logged why, when the helpers cannot start; a helper failing later raises ``ChildProcessError`` from
    the iterator (callers catch it and compute serially)."""
    target = f"{function.__module__}:{function.__qualname__}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (_REPO, os.environ.get("PYTHONPATH")) if p)}
    helpers: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(workers - 1):
            helpers.append(subprocess.Popen([sys.executable, "-m", __name__, target], stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, env=env))
    except OSError as exc:
        log.info("standardizing in one process: cannot start a helper (%s)", exc)
        _stop(helpers)
        return None
    return _run(function, chunks, helpers)


def _run(function: Callable[[Any], Any], chunks: Iterable[Any], helpers: list[subprocess.Popen[bytes]]) -> Iterator[Any]:
    n, finished = len(helpers) + 1, False
    try:
        pending = iter(chunks)  # consumed a round at a time: the caller may produce chunks lazily
        while round_ := list(itertools.islice(pending, n)):
            for helper, chunk in zip(helpers, round_[1:], strict=False):
                _send(helper.stdin, chunk)  # type: ignore[arg-type]
            yield function(round_[0])
            for helper, _ in zip(helpers, round_[1:], strict=False):
                yield _receive(helper.stdout)  # type: ignore[arg-type]
        finished = True
    except (OSError, EOFError, pickle.UnpicklingError) as exc:
        raise ChildProcessError(f"a standardizer helper process failed: {exc}") from exc
    finally:
        _stop(helpers, kill=not finished)


def _stop(helpers: list[subprocess.Popen[bytes]], *, kill: bool = False) -> None:
    """End the helpers: close their input and wait (after a full run), or kill them (after a failure or
    when the caller stopped early, as a helper may be blocked writing an answer nobody reads)."""
    for helper in helpers:
        try:
            if kill:
                helper.kill()
            if helper.stdin:
                helper.stdin.close()  # end of input: the helper's loop returns
            helper.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            helper.kill()
            helper.wait()
        finally:
            if helper.stdout:
                helper.stdout.close()


def _serve(target: str) -> None:
    """A helper's loop: read a chunk, answer ``function(chunk)``, until the input closes."""
    module, _, name = target.partition(":")
    function = getattr(importlib.import_module(module), name)
    inp = sys.stdin.buffer
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    # a stray print, from Python or from a C library, must not corrupt the answers: fd 1 becomes stderr
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    while True:
        try:
            chunk = _receive(inp)
        except EOFError:
            return
        _send(out, function(chunk))


if __name__ == "__main__":
    _serve(sys.argv[1])
