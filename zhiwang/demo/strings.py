"""Vectorised string helpers: the generator builds millions of strings, so concatenation and number
formatting go through Arrow compute kernels instead of Python loops."""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def _arrow(part: Any) -> Any:
    if isinstance(part, str):
        return pa.scalar(part, pa.string())
    if isinstance(part, pa.Array | pa.ChunkedArray):
        return part
    return pa.array(part, pa.string(), from_pandas=True)


def cat(*parts: Any) -> np.ndarray:
    """Element-wise concatenation of string arrays and scalars; a missing element counts as ''."""
    arrays = [_arrow(p) for p in parts]
    if not any(isinstance(a, pa.Array | pa.ChunkedArray) for a in arrays):
        raise ValueError("cat() needs at least one array")
    joined = pc.binary_join_element_wise(*arrays, "", null_handling="replace")
    return joined.to_numpy(zero_copy_only=False)


def num(values: np.ndarray, width: int = 0) -> np.ndarray:
    """Integers as decimal strings, zero-padded to ``width``."""
    s = pa.array(np.asarray(values, dtype=np.int64)).cast(pa.string())
    if width:
        s = pc.utf8_lpad(s, width=width, padding="0")
    return s.to_numpy(zero_copy_only=False)


def either(mask: np.ndarray, yes: str, no: str) -> np.ndarray:
    """``yes`` where ``mask`` else ``no``, as an object array sharing two string objects (not one per row)."""
    return np.array([no, yes], dtype=object)[np.asarray(mask, dtype=np.intp)]


def take(choices: Any, idx: np.ndarray) -> np.ndarray:
    """``choices[idx]`` as an object array."""
    return np.asarray(choices, dtype=object)[idx]


def digits_to_str(digits: np.ndarray) -> np.ndarray:
    """An (n, k) uint8 array of ASCII codes as n strings of length k, without a Python loop."""
    k = digits.shape[1]
    raw = np.ascontiguousarray(digits, dtype=np.uint8).view(f"S{k}").ravel()
    return pa.array(raw, pa.binary(k)).cast(pa.string()).to_numpy(zero_copy_only=False)


def str_to_codes(values: np.ndarray, k: int) -> np.ndarray:
    """n ASCII strings of length k as an (n, k) uint8 array."""
    raw = np.asarray(values, dtype=f"S{k}")
    return raw.view(np.uint8).reshape(len(values), k).copy()


def stable_tag(*parts: object) -> int:
    """A stable 32-bit integer for a tag (Python's hash() is salted per process)."""
    return zlib.crc32("/".join(map(str, parts)).encode("utf-8"))


def weighted(rng: np.random.Generator, weights: np.ndarray | list[float], n: int) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(w), size=n, p=w / w.sum())


def zipf_weights(n: int, s: float = 1.1) -> np.ndarray:
    return 1.0 / np.arange(1, n + 1) ** s
