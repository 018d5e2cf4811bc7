"""GB 32100 unified social credit codes (统一社会信用代码).

18 characters over a 31-character alphabet (digits and capitals without I O Z S V): registration authority
(1), organisation type (1), division code (6), organisation code (9, itself GB 11714 with its own check
character), check character. Check: weights 3^i mod 31, ``(31 - sum % 31) % 31``.
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_VALUE = {c: i for i, c in enumerate(ALPHABET)}

# GB 11714 organisation code: 8 characters (digits and capitals) + check; check value 10 is 'X', 11 is '0'.
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_VALUE = {**{str(d): d for d in range(10)}, **{chr(ord("A") + i): 10 + i for i in range(26)}}


def check_char(first17: str) -> str:
    if len(first17) != 17 or any(c not in _VALUE for c in first17):
        raise ValueError(f"need 17 characters of {ALPHABET}, got {first17!r}")
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def org_check_char(first8: str) -> str:
    """GB 11714 check character of an 8-character organisation code body."""
    if len(first8) != 8 or any(c not in _ORG_VALUE for c in first8):
        raise ValueError(f"need 8 digits or capitals, got {first8!r}")
    value = 11 - sum(_ORG_VALUE[c] * w for c, w in zip(first8, ORG_WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def clean(value: str | None) -> str:
    if value is None:
        return ""
    return "".join(str(value).split()).upper()


def is_valid(value: str | None, *, check_org_code: bool = True) -> bool:
    """Correct alphabet and GB 32100 check character; and, unless told not to, the embedded GB 11714
    organisation code's own check character."""
    value = clean(value)
    if len(value) != 18 or any(c not in _VALUE for c in value):
        return False
    if check_char(value[:17]) != value[17]:
        return False
    if check_org_code:
        org = value[8:17]
        if any(c not in _ORG_VALUE for c in org[:8]) or org_check_char(org[:8]) != org[8]:
            return False
    return True


def normalize(value: str | None) -> str | None:
    value = clean(value)
    return value if is_valid(value) else None


def problem(value: str | None, *, check_org_code: bool = True) -> str | None:
    """Why ``value`` is not a valid code, in plain words (Chinese / English), or None when it is."""
    text = clean(value)
    if len(text) != 18:
        return f"长度应为 18 位，实际 {len(text)} 位 / must be 18 characters, got {len(text)}"
    bad = sorted({c for c in text if c not in _VALUE})
    if bad:
        return f"含非法字符 {''.join(bad)} / characters {''.join(bad)} are not used (no I, O, Z, S, V)"
    if check_char(text[:17]) != text[17]:
        return "校验码错误 / the check character (last) does not match: a character was probably mistyped"
    if check_org_code and not is_valid(text, check_org_code=True):
        return "组织机构代码校验位错误 / the embedded organisation code (characters 9-17) fails its GB 11714 check"
    return None


# ---- array forms: the same answers over a whole column ---------------------------------------------------------
# Values already in the plain form (18 characters of ALPHABET, upper case, no spaces) are checked with NumPy
# on an (n, 18) byte matrix; any other value goes through the scalar function.

_PLAIN = "^[" + ALPHABET + "]{18}$"


def _valid_plain(matrix, *, check_org_code: bool):  # noqa: ANN001, ANN202 - boolean NumPy array
    import numpy as np

    value = np.full(256, -1, dtype=np.int64)
    value[np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)] = np.arange(len(ALPHABET))
    chars = value[matrix]
    codes = np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)
    ok = codes[(31 - (chars[:, :17] @ np.array(WEIGHTS, dtype=np.int64)) % 31) % 31] == matrix[:, 17]
    if check_org_code:
        org_value = np.full(256, -1, dtype=np.int64)
        for c, v in _ORG_VALUE.items():
            org_value[ord(c)] = v
        check = 11 - (org_value[matrix[:, 8:16]] @ np.array(ORG_WEIGHTS, dtype=np.int64)) % 11
        # check value 10 is written X, 11 is written 0 (org_check_char)
        expected = np.where(check == 10, ord("X"), np.where(check == 11, ord("0"), check + 48))
        ok &= expected == matrix[:, 16]
    return ok


def normalize_array(values):  # noqa: ANN001, ANN201 - pa.Array in and out
    """:func:`normalize` over a string array (nulls stay null): valid codes upper-cased, else null."""
    import numpy as np
    import pyarrow as pa

    from quality.validators._arrays import (
        as_string_array,
        char_matrix,
        merged,
        plain_mask,
        scalar_part,
        strings_from_matrix,
    )

    values = as_string_array(values)
    mask = plain_mask(values, _PLAIN)
    idx = np.flatnonzero(mask)
    matrix = char_matrix(values.take(pa.array(idx, pa.int64())), 18)
    other = np.flatnonzero(~mask & ~values.is_null().to_numpy(zero_copy_only=False))
    return merged(len(values), pa.string(), [
        (idx, strings_from_matrix(matrix, _valid_plain(matrix, check_org_code=True))),
        (other, scalar_part(values, other, normalize, pa.string())),
    ])


def is_valid_array(values, *, check_org_code: bool = True):  # noqa: ANN001, ANN201 - pa.Array in and out
    """:func:`is_valid` over a string array: a boolean array without nulls (a null value is not valid)."""
    import numpy as np
    import pyarrow as pa

    from quality.validators._arrays import as_string_array, char_matrix, plain_mask, scalar_part

    values = as_string_array(values)
    mask = plain_mask(values, _PLAIN)
    idx = np.flatnonzero(mask)
    out = np.zeros(len(values), dtype=bool)
    out[idx] = _valid_plain(char_matrix(values.take(pa.array(idx, pa.int64())), 18), check_org_code=check_org_code)
    other = np.flatnonzero(~mask & ~values.is_null().to_numpy(zero_copy_only=False))
    out[other] = scalar_part(values, other, lambda v: is_valid(v, check_org_code=check_org_code),
                             pa.bool_()).to_numpy(zero_copy_only=False)
    return pa.array(out, pa.bool_())
