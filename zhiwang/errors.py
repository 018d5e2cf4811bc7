"""One root exception; subclasses say what the operator should do.

``UserError`` and its subclasses are mistakes in input a person can fix (a catalog entry, a dropped file, a
command-line argument): the CLI prints their message as one paragraph and exits non-zero, never a traceback.
``RetriableError`` is for a transient failure (a database or API that is down) that a retry may cure.
"""

from __future__ import annotations

from dataclasses import dataclass


class ZhiwangError(Exception):
    """Root of every error zhiwang raises on purpose."""


class UserError(ZhiwangError):
    """Bad input from a person: the message says what, where and how to fix it."""


class ConfigError(UserError):
    """A setting, path or command-line argument is wrong."""


class RetriableError(ZhiwangError):
    """A transient failure (network, database, rate limit): retrying later may succeed."""


@dataclass(frozen=True)
class Problem:
    """One located problem: ``where`` is a file with a key path, or a file with row and column."""

    where: str
    message: str

    def __str__(self) -> str:
        # "file: key = 'value' is …" reads better than "file: key: = 'value' is …"
        sep = " " if self.message.startswith("= ") else ": "
        return f"{self.where}{sep}{self.message}"


class ProblemsError(UserError):
    """Several problems found at once, reported together (collect, then raise once)."""

    def __init__(self, headline: str, problems: list[Problem]):
        self.headline = headline
        self.problems = problems
        lines = [headline] + [f"  - {p}" for p in problems]
        super().__init__("\n".join(lines))

    def __reduce__(self) -> tuple[type[ProblemsError], tuple[str, list[Problem]]]:
        # pickled whole: an ingest worker process raises it to the parent (zhiwang.pipeline.ingest_all)
        return type(self), (self.headline, self.problems)
