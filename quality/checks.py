"""The check vocabulary the catalog may name, and the plan of checks for one resource.

Light on purpose (no Great Expectations import): ``zhiwang catalog validate`` calls
:func:`validate_check_refs`, and the gate turns :func:`plan_checks` into a GE suite (``quality.suite``).

Severity: a catalog ``severity:`` wins. Otherwise identifier and enumeration checks warn (the row is kept, the
field flagged and, for a canonical field, nulled for matching), a missing required value and a duplicate
record key are errors — and a check on a *required* field that would null it is an error too, because a
nulled required value is a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from catalog.models import FieldSpec, Resource
from zhiwang.errors import Problem

STRINGS = ("string",)
DATES = ("date", "timestamp")


@dataclass(frozen=True)
class CheckSpec:
    """One named validator of the vocabulary."""

    name: str
    summary: str
    """问题 column of the feedback file: what kind of problem this is."""
    fix: str
    """修改建议: how the department fixes it."""
    types: tuple[str, ...] = STRINGS
    params: dict[str, type | tuple[type, ...]] = field(default_factory=dict)
    default_severity: str = "warning"
    nulls: bool = True
    """A failing value is nulled in the canonical column on warning (kept as delivered in src_)."""
    masked: bool = False
    """Values are identifiers: masked in every message and file."""
    pair_field: str | None = None
    """Cross-field checks: the canonical field compared with the checked one."""


_DATE_BOUND = (str, __import__("datetime").date)

CHECKS: dict[str, CheckSpec] = {c.name: c for c in (
    CheckSpec("cn_id_number", "公民身份号码无效", "核对身份证原件，更正号码（18 位，末位可为 X）后重新报送",
              params={"allow_15": bool}, masked=True),
    CheckSpec("cn_uscc", "统一社会信用代码无效", "按营业执照核对 18 位统一社会信用代码后重新报送",
              params={"check_org_code": bool}, masked=True),
    CheckSpec("cn_mobile", "手机号码无效", "填写 11 位大陆手机号码（可带 +86），固定电话请填入其他字段", masked=True),
    CheckSpec("cn_division_code", "行政区划代码无效或已撤销", "按现行 GB/T 2260 行政区划代码填写（6 位）",
              params={"allow_retired": bool, "on": _DATE_BOUND}),
    CheckSpec("gender", "性别代码无效", "性别填写 男/女（或 1/2、M/F）", types=("string", "integer")),
    CheckSpec("date_range", "日期超出合理范围", "核对日期（年份、月日是否颠倒）后重新报送", types=DATES,
              params={"min": _DATE_BOUND, "max": _DATE_BOUND}),
    CheckSpec("cn_id_gender", "性别与身份证号不一致", "核对身份证号第 17 位（奇数为男、偶数为女）与性别字段",
              params={"field": str}, nulls=False, masked=True, pair_field="gender"),
    CheckSpec("cn_id_birth_date", "出生日期与身份证号不一致", "核对身份证号第 7-14 位与出生日期字段",
              params={"field": str}, nulls=False, masked=True, pair_field="birth_date"),
)}

# Checks the gate adds on its own (and staging's reasons), for messages and feedback files.
BUILTIN = {
    "required": ("必填字段为空", "补齐必填字段后重新报送该记录"),
    "record_key": ("记录标识为空", "每条记录都须有记录标识，补齐后重新报送"),
    "parse": ("值无法识别", "按目录约定的类型和格式填写（如日期 YYYY-MM-DD）"),
    "duplicate_record_key": ("同一批次内记录标识重复", "同一记录只报送一次；确有多条请核对记录标识"),
    "allowed_values": ("取值不在允许范围内", "按目录中的代码表取值"),
    "date_plausible": ("日期不合理", "核对日期（年份、月日是否颠倒）后重新报送"),
}
# Default plausible ranges for dates without an explicit date_range: a birth or founding date is never in
# the future; any other date lies within 1900–2100.
PAST_ONLY = {"birth_date", "established_date"}


def summary_and_fix(check: str) -> tuple[str, str]:
    spec = CHECKS.get(check)
    if spec:
        return spec.summary, spec.fix
    return BUILTIN.get(check, (check, "核对该字段后重新报送"))


@dataclass(frozen=True)
class PlannedCheck:
    """One check to run on a delivery's mapped frame."""

    check: str
    column: str
    """The department's column, for messages."""
    target: str
    """Frame column validated (canonical name, or ``src_<column>`` for an unmapped field)."""
    severity: str
    params: dict[str, Any] = field(default_factory=dict)
    pair: str | None = None
    """Second frame column (cross-field checks)."""
    nulls: str | None = None
    """Canonical column to null when the check warns."""
    masked: bool = False
    source: str | None = None
    """``src_<column>`` holding the value as delivered (shown, masked where needed, in reasons)."""


def validate_check_refs(resource: Resource, where: str) -> list[Problem]:
    """Unknown check names, checks on fields of the wrong type, unknown or mistyped params."""
    problems: list[Problem] = []
    canonical = resource.canonical_fields()
    for i, spec in enumerate(resource.fields):
        for j, ref in enumerate(spec.checks):
            at = f"{where}: fields[{i}].checks[{j}]"
            check = CHECKS.get(ref.name)
            if check is None:
                problems.append(Problem(at, f"= {ref.name!r} is not a check; known checks: {', '.join(sorted(CHECKS))}"))
                continue
            if spec.type not in check.types:
                problems.append(Problem(at, f"{ref.name} applies to {' or '.join(check.types)} fields, but {spec.column} is {spec.type}"))
            for key, value in ref.params.items():
                expected = check.params.get(key)
                if expected is None:
                    allowed = ", ".join(check.params) or "none"
                    problems.append(Problem(f"{at}.params.{key}", f"is not a parameter of {ref.name} (allowed: {allowed})"))
                elif not isinstance(value, expected):
                    problems.append(Problem(f"{at}.params.{key}", f"= {value!r} has the wrong type for {ref.name}"))
            problems.extend(_param_values(ref.name, ref.params, at))
            if check.pair_field:
                other = ref.params.get("field", check.pair_field)
                if spec.maps_to is None or other not in canonical:
                    problems.append(Problem(at, f"{ref.name} compares a mapped ID field with the canonical field {other!r}; "
                                            "map both fields (maps_to) or remove the check"))
    return problems


def _param_values(name: str, params: dict[str, Any], at: str) -> list[Problem]:
    import datetime as dt

    out = []
    for key in ("min", "max", "on"):
        value = params.get(key)
        if isinstance(value, str) and value.strip().lower() not in ("today", "delivery"):
            try:
                dt.date.fromisoformat(value.strip())
            except ValueError:
                out.append(Problem(f"{at}.params.{key}", f"= {value!r} is not a date (YYYY-MM-DD), 'today' or 'delivery'"))
    if name == "date_range" and not ({"min", "max"} & set(params)):
        out.append(Problem(f"{at}.params", "date_range needs min, max or both (YYYY-MM-DD, today or delivery)"))
    return out


def _severity(spec: FieldSpec, check: CheckSpec | None, explicit: str | None, default: str) -> str:
    if explicit:
        return explicit
    if spec.required and (check is None or check.nulls):
        return "error"  # nulling a required value would leave it missing
    return default


def plan_checks(resource: Resource) -> list[PlannedCheck]:
    """Every row-level check for a delivery of ``resource``, in a stable order."""
    plan: list[PlannedCheck] = []
    canonical = resource.canonical_fields()
    for spec in resource.fields:
        target = spec.maps_to or f"src_{spec.column}"
        common = {"column": spec.column, "target": target, "source": f"src_{spec.column}"}
        named = {ref.name for ref in spec.checks}
        for ref in spec.checks:
            check = CHECKS[ref.name]
            pair = None
            if check.pair_field:
                pair = ref.params.get("field", check.pair_field)
                if spec.maps_to is None or pair not in canonical:
                    continue
            plan.append(PlannedCheck(
                check=ref.name, severity=_severity(spec, check, ref.severity, check.default_severity),
                params=dict(ref.params), pair=pair, nulls=spec.maps_to if check.nulls else None,
                masked=check.masked, **common,
            ))
            if ref.name == "cn_id_number" and spec.maps_to == "id_number":
                for implied in ("cn_id_gender", "cn_id_birth_date"):  # cross-field agreement comes with the ID check
                    other = CHECKS[implied]
                    if implied not in named and other.pair_field in canonical:
                        plan.append(PlannedCheck(check=implied, severity=other.default_severity, pair=other.pair_field,
                                                 masked=True, **common))
        if spec.type in DATES and "date_range" not in named:
            high = "delivery" if spec.maps_to in PAST_ONLY else "2100-12-31"
            low = "1880-01-01" if spec.maps_to == "birth_date" else "1900-01-01"
            plan.append(PlannedCheck(check="date_plausible", severity=_severity(spec, None, None, "warning"),
                                     params={"min": low, "max": high}, nulls=spec.maps_to, **common))
        if spec.allowed_values is not None:
            plan.append(PlannedCheck(check="allowed_values", severity=_severity(spec, None, None, "warning"),
                                     params={"values": list(spec.allowed_values)}, nulls=spec.maps_to,
                                     **{**common, "target": f"src_{spec.column}"}))
        if spec.required and spec.maps_to:
            plan.append(PlannedCheck(check="required", severity="error", **common))
    plan.append(PlannedCheck(check="duplicate_record_key", column="、".join(resource.record_key), target="_record_key",
                             severity="error", nulls=None))
    return plan
