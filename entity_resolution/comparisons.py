"""Splink 5 comparisons that count Chinese characters, not UTF-8 bytes.

DuckDB's ``levenshtein`` and ``jaro_winkler`` work on bytes: 王小明 vs 王晓明 is distance 3, so Splink's stock
fuzzy levels either miss one-character typos or match unrelated names. These comparisons are plain DuckDB
SQL over characters (``length`` and ``substr`` count characters; ``string_split(s, '')`` lists them), so they
serialise into the model JSON and run on any DuckDB connection without registering a UDF.

Inputs are the standardized columns of ``entity_resolution.standardize``: ``name`` (``normalize_name``) with
``name_pinyin`` (``pinyin_key``), ``building_key`` / ``unit_key`` (``parse_address``), ``company_key`` /
``company_core``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # splink is a heavy import; callers that only standardize never pay for it
    from splink.internals.comparison_library import CustomComparison


def one_char_edit_sql(left: str, right: str) -> str:
    """SQL true when ``left`` and ``right`` are one character edit apart (substitute, insert or delete).

    Exact equality is not included (distance 0): put an exact level before this one.
    """
    # Substitution: same length, exactly one position differs. Insertion / deletion: removing one character
    # from the longer string gives the shorter one. Names are short, so the lambdas run over a few positions.
    substitution = (
        f"(length({left}) = length({right}) AND length(list_filter(range(1, length({left}) + 1), "
        f"lambda i: substr({left}, i, 1) <> substr({right}, i, 1))) = 1)"
    )

    def deletion(longer: str, shorter: str) -> str:
        return (
            f"(length({longer}) = length({shorter}) + 1 AND length(list_filter(range(1, length({longer}) + 1), "
            f"lambda i: substr({longer}, 1, i - 1) || substr({longer}, i + 1) = {shorter})) > 0)"
        )

    return f"({substitution} OR {deletion(left, right)} OR {deletion(right, left)})"


def char_jaccard_sql(left: str, right: str) -> str:
    """SQL for the Jaccard similarity of the two strings' character sets (0 … 1)."""
    chars_l, chars_r = f"list_distinct(string_split({left}, ''))", f"list_distinct(string_split({right}, ''))"
    return (
        f"(length(list_intersect({chars_l}, {chars_r})) / "
        f"greatest(length(list_distinct(list_concat({chars_l}, {chars_r}))), 1))"
    )


def _level(sql: str, label: str, *, null: bool = False):
    from splink.internals.comparison_level_library import CustomLevel

    level = CustomLevel(sql_condition=sql, label_for_charts=label)
    return level.configure(is_null_level=True) if null else level


def _else():
    from splink.internals.comparison_level_library import ElseLevel

    return ElseLevel()


def name_comparison(name_col: str = "name", pinyin_col: str = "name_pinyin") -> CustomComparison:
    """Chinese person names, most to least specific:

    1. exact name;
    2. one character different in a name of three or more characters (王小明 / 王晓明, 王明 / 王小明);
    3. same toneless pinyin (张伟 / 张威, and homophones that differ in more than one character);
    4. one character different in a two-character name (张伟 / 张敏): the whole given name changed, so it
       is weaker evidence than a homophone;
    5. anything else.

    A one-character change in a three-character name keeps two thirds of it and is the commonest
    transcription slip, so it ranks above a mere homophone; level 3 still catches the homophones that
    level 2 does not.
    """
    from splink.internals.comparison_library import CustomComparison

    n_l, n_r, p_l, p_r = f"{name_col}_l", f"{name_col}_r", f"{pinyin_col}_l", f"{pinyin_col}_r"
    return CustomComparison(
        output_column_name=name_col,
        comparison_description="CJK name: exact / one character (3+ chars) / same pinyin / one character",
        comparison_levels=[
            _level(f"{n_l} IS NULL OR {n_r} IS NULL", "name is NULL", null=True),
            _level(f"{n_l} = {n_r}", "exact name"),
            _level(f"greatest(length({n_l}), length({n_r})) >= 3 AND {one_char_edit_sql(n_l, n_r)}",
                   "one character different"),
            _level(f"{p_l} = {p_r}", "same pinyin"),
            _level(one_char_edit_sql(n_l, n_r), "one character different, two-character name"),
            _else(),
        ],
    )


def address_comparison(building_col: str = "building_key", unit_col: str = "unit_key") -> CustomComparison:
    """Parsed addresses: same flat; same building; same estate and building with the road missing or
    written differently; same road number; same building token, unit and room in the district (one record
    names the estate, the other the road); same district; anything else. Keys are
    ``district|road|number|estate|building`` and ``…|unit|room`` (see ``parse_address``)."""
    from splink.internals.comparison_library import CustomComparison

    b_l, b_r, u_l, u_r = f"{building_col}_l", f"{building_col}_r", f"{unit_col}_l", f"{unit_col}_r"

    def part(key: str, n: int) -> str:
        return f"split_part({key}, '|', {n})"

    same_district = f"{part(b_l, 1)} <> '' AND {part(b_l, 1)} = {part(b_r, 1)}"
    return CustomComparison(
        output_column_name=building_col,
        comparison_description="Parsed address: flat / building / estate+building / road number / flat token / district",
        comparison_levels=[
            _level(f"{b_l} IS NULL OR {b_r} IS NULL", "address is NULL", null=True),
            _level(f"{u_l} = {u_r}", "same flat (unit_key)"),
            _level(f"{b_l} = {b_r}", "same building (building_key)"),
            _level(f"{same_district} AND {part(b_l, 4)} <> '' AND {part(b_l, 4)} = {part(b_r, 4)} "
                   f"AND {part(b_l, 5)} = {part(b_r, 5)}", "same estate and building"),
            _level(f"{same_district} AND {part(b_l, 2)} <> '' AND {part(b_l, 2)} = {part(b_r, 2)} "
                   f"AND {part(b_l, 3)} = {part(b_r, 3)}", "same road and number"),
            _level(f"{same_district} AND {part(b_l, 5)} <> '' AND {part(b_l, 5)} = {part(b_r, 5)} "
                   f"AND {part(u_l, 6)} = {part(u_r, 6)} AND {part(u_l, 7)} <> '' AND {part(u_l, 7)} = {part(u_r, 7)}",
                   "same building, unit and room; estate or road written differently"),
            _level(same_district, "same district"),
            _else(),
        ],
    )


def company_comparison(
    key_col: str = "company_key", core_col: str = "company_core", thresholds: tuple[float, ...] = (0.8, 0.6)
) -> CustomComparison:
    """Company names: same key; same name apart from the legal form; character Jaccard of the names
    without legal form at each threshold (descending); anything else."""
    from splink.internals.comparison_library import CustomComparison

    k_l, k_r, c_l, c_r = f"{key_col}_l", f"{key_col}_r", f"{core_col}_l", f"{core_col}_r"
    if list(thresholds) != sorted(thresholds, reverse=True) or not all(0 < t <= 1 for t in thresholds):
        raise ValueError(f"thresholds must be descending values in (0, 1], got {thresholds}")
    levels = [
        _level(f"{k_l} IS NULL OR {k_r} IS NULL", "company name is NULL", null=True),
        _level(f"{k_l} = {k_r}", "same company key"),
        _level(f"{c_l} = {c_r}", "same name, different legal form"),
    ]
    levels += [_level(f"{char_jaccard_sql(c_l, c_r)} >= {t}", f"character Jaccard >= {t}") for t in thresholds]
    return CustomComparison(
        output_column_name=key_col,
        comparison_description="Company name: key / core / character Jaccard",
        comparison_levels=[*levels, _else()],
    )


def birth_date_comparison(col: str = "birth_date") -> CustomComparison:
    """ISO dates (``YYYY-MM-DD`` strings): exact; two of year / month / day agree, or day and month swapped
    (the usual keying slips); anything else."""
    from splink.internals.comparison_library import CustomComparison

    d_l, d_r = f"{col}_l", f"{col}_r"

    def same(start: int, length: int) -> str:
        return f"substr({d_l}, {start}, {length}) = substr({d_r}, {start}, {length})"

    agree = f"CAST({same(1, 4)} AS INTEGER) + CAST({same(6, 2)} AS INTEGER) + CAST({same(9, 2)} AS INTEGER)"
    swapped = (f"{same(1, 4)} AND substr({d_l}, 6, 2) = substr({d_r}, 9, 2) "
               f"AND substr({d_l}, 9, 2) = substr({d_r}, 6, 2)")
    return CustomComparison(
        output_column_name=col,
        comparison_description="Birth date: exact / one part different or day-month swapped",
        comparison_levels=[
            _level(f"{d_l} IS NULL OR {d_r} IS NULL", "birth date is NULL", null=True),
            _level(f"{d_l} = {d_r}", "exact birth date"),
            _level(f"({agree}) = 2 OR ({swapped})", "one of year, month, day different or day/month swapped"),
            _else(),
        ],
    )
