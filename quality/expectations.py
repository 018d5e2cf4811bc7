"""Great Expectations 1.x custom expectations for the Chinese identifier checks (GE has none).

Each is a ColumnMap (or ColumnPairMap) expectation over a pandas frame, so GE reports the failing rows'
index labels (``unexpected_index_list``) and the gate can quarantine or flag exactly those rows. The row
logic lives in :mod:`quality.rowcheck`; importing this module registers the expectations with GE.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Optional

from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation, ColumnPairMapExpectation
from great_expectations.expectations.metrics import ColumnMapMetricProvider, column_condition_partial
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnPairMapMetricProvider,
    column_pair_condition_partial,
)

from quality.rowcheck import pair_ok, single_ok


def _ref(kwargs: dict[str, Any]) -> dt.date:
    return dt.date.fromisoformat(kwargs["reference_date"])


# -- metrics ---------------------------------------------------------------------------------------------


class ColumnValuesCnIdNumber(ColumnMapMetricProvider):
    condition_metric_name = "column_values.zhiwang_cn_id_number"
    condition_value_keys = ("allow_15", "reference_date")

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, **kwargs):  # noqa: ANN001, ANN206 - GE's signature
        return single_ok("cn_id_number", column, {"allow_15": kwargs.get("allow_15", True)}, _ref(kwargs))


class ColumnValuesCnUscc(ColumnMapMetricProvider):
    condition_metric_name = "column_values.zhiwang_cn_uscc"
    condition_value_keys = ("check_org_code", "reference_date")

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, **kwargs):  # noqa: ANN001, ANN206
        return single_ok("cn_uscc", column, {"check_org_code": kwargs.get("check_org_code", True)}, _ref(kwargs))


class ColumnValuesCnMobile(ColumnMapMetricProvider):
    condition_metric_name = "column_values.zhiwang_cn_mobile"
    condition_value_keys = ("reference_date",)

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, **kwargs):  # noqa: ANN001, ANN206
        return single_ok("cn_mobile", column, {}, _ref(kwargs))


class ColumnValuesCnDivisionCode(ColumnMapMetricProvider):
    condition_metric_name = "column_values.zhiwang_cn_division_code"
    condition_value_keys = ("allow_retired", "on", "reference_date")

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, **kwargs):  # noqa: ANN001, ANN206
        params = {"allow_retired": kwargs.get("allow_retired", False), "on": kwargs.get("on") or "delivery"}
        return single_ok("cn_division_code", column, params, _ref(kwargs))


class ColumnValuesCnGender(ColumnMapMetricProvider):
    condition_metric_name = "column_values.zhiwang_cn_gender"
    condition_value_keys = ("reference_date",)

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, **kwargs):  # noqa: ANN001, ANN206
        return single_ok("gender", column, {}, _ref(kwargs))


class ColumnValuesDateInRange(ColumnMapMetricProvider):
    condition_metric_name = "column_values.zhiwang_date_in_range"
    condition_value_keys = ("min_date", "max_date", "formats", "reference_date")

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, **kwargs):  # noqa: ANN001, ANN206
        params = {"min": kwargs["min_date"], "max": kwargs["max_date"], "formats": kwargs.get("formats")}
        return single_ok("date_range", column, params, _ref(kwargs))


class ColumnPairCnIdGender(ColumnPairMapMetricProvider):
    condition_metric_name = "column_pair_values.zhiwang_cn_id_gender"
    condition_domain_keys = ("batch_id", "table", "column_A", "column_B", "row_condition", "condition_parser",
                             "ignore_row_if")

    @column_pair_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_A, column_B, **kwargs):  # noqa: ANN001, ANN206, N803
        return pair_ok("cn_id_gender", column_A, column_B)


class ColumnPairCnIdBirthDate(ColumnPairMapMetricProvider):
    condition_metric_name = "column_pair_values.zhiwang_cn_id_birth_date"
    condition_domain_keys = ColumnPairCnIdGender.condition_domain_keys

    @column_pair_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_A, column_B, **kwargs):  # noqa: ANN001, ANN206, N803
        return pair_ok("cn_id_birth_date", column_A, column_B)


# -- expectations ------------------------------------------------------------------------------------------


class ExpectColumnValuesToBeValidCnIdNumber(ColumnMapExpectation):
    """GB 11643 citizen ID: check character, real birth date, province code; 15-digit legacy numbers allowed."""

    allow_15: bool = True
    reference_date: str
    map_metric: ClassVar[str] = "column_values.zhiwang_cn_id_number"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly", "allow_15", "reference_date")


class ExpectColumnValuesToBeValidCnUscc(ColumnMapExpectation):
    """GB 32100 unified social credit code and its embedded GB 11714 organisation code."""

    check_org_code: bool = True
    reference_date: str
    map_metric: ClassVar[str] = "column_values.zhiwang_cn_uscc"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly", "check_org_code", "reference_date")


class ExpectColumnValuesToBeValidCnMobile(ColumnMapExpectation):
    """Mainland mobile number after removing +86, spaces and dashes."""

    reference_date: str
    map_metric: ClassVar[str] = "column_values.zhiwang_cn_mobile"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly", "reference_date")


class ExpectColumnValuesToBeValidCnDivisionCode(ColumnMapExpectation):
    """GB/T 2260 division code valid on a date (the delivery's by default)."""

    allow_retired: bool = False
    on: Optional[str] = None  # noqa: UP045 - GE's pydantic v1 models want Optional
    reference_date: str
    map_metric: ClassVar[str] = "column_values.zhiwang_cn_division_code"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly", "allow_retired", "on", "reference_date")


class ExpectColumnValuesToBeCnGender(ColumnMapExpectation):
    """男/女, 1/2 (GB/T 2261.1) or M/F."""

    reference_date: str
    map_metric: ClassVar[str] = "column_values.zhiwang_cn_gender"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly", "reference_date")


class ExpectColumnValuesToBeDatesInRange(ColumnMapExpectation):
    """Dates between two bounds (ISO dates, or ``delivery``: the delivery's date); strings parsed by formats."""

    min_date: str
    max_date: str
    formats: Optional[list[str]] = None  # noqa: UP045
    reference_date: str
    map_metric: ClassVar[str] = "column_values.zhiwang_date_in_range"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly", "min_date", "max_date", "formats", "reference_date")


class ExpectColumnPairCnIdToMatchGender(ColumnPairMapExpectation):
    """The gender encoded in the ID number (column_A) agrees with the gender field (column_B)."""

    ignore_row_if: str = "either_value_is_missing"
    map_metric: ClassVar[str] = "column_pair_values.zhiwang_cn_id_gender"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly", "ignore_row_if")


class ExpectColumnPairCnIdToMatchBirthDate(ColumnPairMapExpectation):
    """The birth date encoded in the ID number (column_A) agrees with the birth date field (column_B)."""

    ignore_row_if: str = "either_value_is_missing"
    map_metric: ClassVar[str] = "column_pair_values.zhiwang_cn_id_birth_date"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly", "ignore_row_if")


SINGLE = {
    "cn_id_number": ExpectColumnValuesToBeValidCnIdNumber,
    "cn_uscc": ExpectColumnValuesToBeValidCnUscc,
    "cn_mobile": ExpectColumnValuesToBeValidCnMobile,
    "cn_division_code": ExpectColumnValuesToBeValidCnDivisionCode,
    "gender": ExpectColumnValuesToBeCnGender,
    "date_range": ExpectColumnValuesToBeDatesInRange,
    "date_plausible": ExpectColumnValuesToBeDatesInRange,
}
PAIR = {"cn_id_gender": ExpectColumnPairCnIdToMatchGender, "cn_id_birth_date": ExpectColumnPairCnIdToMatchBirthDate}
