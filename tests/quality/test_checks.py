"""The check vocabulary: catalog references are validated with located messages; the plan's severities."""

from __future__ import annotations

import json

from catalog.models import Resource
from quality.checks import plan_checks, validate_check_refs
from tests.quality.conftest import RESOURCE


def resource_with(field_index: int, checks: list, **extra) -> Resource:
    data = json.loads(json.dumps(RESOURCE))
    data["fields"][field_index]["checks"] = checks
    data["fields"][field_index].update(extra)
    return Resource.model_validate(data)


def messages(resource: Resource) -> list[str]:
    return [str(p) for p in validate_check_refs(resource, "resources/x.yaml")]


def test_the_test_resource_is_clean() -> None:
    assert messages(Resource.model_validate(RESOURCE)) == []


def test_unknown_check_is_located() -> None:
    out = messages(resource_with(2, ["cn_id_number", "cn_idnumber"]))
    assert out == ["resources/x.yaml: fields[2].checks[1] = 'cn_idnumber' is not a check; known checks: "
                   "cn_division_code, cn_id_birth_date, cn_id_gender, cn_id_number, cn_mobile, cn_uscc, date_range, gender"]


def test_bad_params_and_types() -> None:
    out = messages(resource_with(4, [{"name": "date_range", "params": {"min": "1900-13-01", "mx": "today"}}]))
    assert "resources/x.yaml: fields[4].checks[0].params.mx: is not a parameter of date_range (allowed: min, max)" in out
    assert any("params.min = '1900-13-01' is not a date" in m for m in out)
    out = messages(resource_with(2, [{"name": "cn_id_number", "params": {"allow_15": "yes"}}]))
    assert out == ["resources/x.yaml: fields[2].checks[0].params.allow_15 = 'yes' has the wrong type for cn_id_number"]
    out = messages(resource_with(4, ["cn_mobile"]))
    assert out == ["resources/x.yaml: fields[4].checks[0]: cn_mobile applies to string fields, but 出生日期 is date"]
    out = messages(resource_with(4, [{"name": "date_range"}]))
    assert out == ["resources/x.yaml: fields[4].checks[0].params: date_range needs min, max or both (YYYY-MM-DD, today or delivery)"]


def test_cross_field_check_needs_both_fields_mapped() -> None:
    out = messages(resource_with(7, [{"name": "cn_id_gender"}]))  # 户籍类别 is not mapped
    assert len(out) == 1 and "map both fields" in out[0] and "fields[7].checks[0]" in out[0]


def test_plan_severities() -> None:
    plan = {(c.check, c.column): c for c in plan_checks(Resource.model_validate(RESOURCE))}
    assert plan[("cn_id_number", "公民身份号码")].severity == "warning"           # checksum failures warn
    assert plan[("cn_id_number", "公民身份号码")].nulls == "id_number"
    assert plan[("cn_id_gender", "公民身份号码")].pair == "gender"                # implied cross-field checks
    assert plan[("cn_id_birth_date", "公民身份号码")].nulls is None
    assert plan[("cn_division_code", "所属区划")].severity == "error"             # the catalog's override
    assert plan[("required", "姓名")].severity == "error"
    assert plan[("duplicate_record_key", "登记编号")].target == "_record_key"
    assert plan[("date_plausible", "出生日期")].params == {"min": "1880-01-01", "max": "delivery"}
    assert plan[("allowed_values", "户籍类别")].target == "src_户籍类别"
    required_id = {(c.check, c.column): c for c in plan_checks(resource_with(2, ["cn_id_number"], required=True))}
    assert required_id[("cn_id_number", "公民身份号码")].severity == "error"      # nulling it would leave it missing
