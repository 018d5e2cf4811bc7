"""The catalog's typed model (政务信息资源目录). Unknown keys are errors everywhere (``extra="forbid"``)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from catalog.canonical import CANONICAL_FIELDS

FieldType = Literal["string", "integer", "decimal", "date", "timestamp", "boolean"]
SharingClass = Literal["unconditional", "conditional", "none"]
Severity = Literal["error", "warning"]
UpdateCycle = Literal["realtime", "hourly", "daily", "weekly", "monthly", "quarterly", "yearly"]
Category = Literal["base", "theme", "business"]
Entity = Literal["person", "legal_entity", "building", "none"]

SHARING_CLASSES: tuple[SharingClass, ...] = ("unconditional", "conditional", "none")
RESOURCE_ID = re.compile(r"^[a-z][a-z0-9_]*$")
DEFAULT_DATE_FORMATS = ["%Y-%m-%d", "%Y%m%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"]
DEFAULT_TIMESTAMP_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y%m%d%H%M%S"]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CheckRef(StrictModel):
    """A named validator applied to a field; in YAML either ``cn_id_number`` or a mapping."""

    name: str
    """Validator name, e.g. cn_id_number, cn_uscc, cn_mobile, cn_division_code, gender, date_range."""
    severity: Severity | None = None
    """error: the row goes to quarantine; warning: the row is kept and the field flagged.
    Omitted: the validator's own default (checksum failures warn, missing required values are errors)."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Validator options, e.g. {min: 1900-01-01} for date_range."""

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


class FieldSpec(StrictModel):
    """One column of a department's delivery."""

    column: str
    """The column exactly as the department names it."""
    maps_to: str | None = None
    """Canonical field of the resource's entity; omitted = kept as a source attribute only."""
    type: FieldType = "string"
    required: bool = False
    """A row without a value here goes to quarantine."""
    checks: list[CheckRef] = Field(default_factory=list)
    sharing: SharingClass | None = None
    """Field-level sharing class; defaults to the resource's."""
    formats: list[str] | None = None
    """strptime formats for date/timestamp columns, tried in order (Excel serial numbers always work)."""
    allowed_values: list[str] | None = None
    """Closed vocabulary for the raw value, e.g. [男, 女]."""
    description: str | None = None

    @model_validator(mode="after")
    def _formats_only_for_dates(self) -> FieldSpec:
        if self.formats is not None and self.type not in ("date", "timestamp"):
            raise ValueError(f"formats is only for date or timestamp fields, but type is {self.type!r}")
        return self

    def date_formats(self) -> list[str]:
        if self.formats:
            return list(self.formats)
        return DEFAULT_TIMESTAMP_FORMATS + DEFAULT_DATE_FORMATS if self.type == "timestamp" else DEFAULT_DATE_FORMATS


class SourceSpec(BaseModel):
    """Where the resource comes from: ``connector`` picks the connector; its options are checked by that
    connector's typed config (see ``connectors.registry.validate_source``)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    connector: str

    def options(self) -> dict[str, Any]:
        return dict(self.model_dump())


class QualityPolicy(StrictModel):
    """Delivery-level quality settings."""

    hold_on_row_drop: float = 0.5
    """Hold a delivery for a steward when it has this fraction fewer rows than the previous one."""


class Resource(StrictModel):
    """One catalog entry: a department's information resource."""

    id: str
    title: str
    provider: str
    """Department code from departments.yaml (谁提供、谁负责)."""
    category: Category
    entity: Entity
    update_cycle: UpdateCycle
    sharing: SharingClass
    sharing_condition: str | None = None
    """Required when sharing is conditional (有条件共享的条件)."""
    sharing_reason: str | None = None
    """Required when sharing is none (不予共享的依据)."""
    open: bool = False
    """是否向社会开放."""
    description: str | None = None
    source: SourceSpec
    record_key: list[str] = Field(min_length=1)
    """Source columns that identify a record within this source."""
    fields: list[FieldSpec] = Field(min_length=1)
    quality: QualityPolicy = Field(default_factory=QualityPolicy)

    @field_validator("id")
    @classmethod
    def _id_format(cls, value: str) -> str:
        if not RESOURCE_ID.match(value):
            raise ValueError(f"id {value!r} must match [a-z][a-z0-9_]* (lowercase letters, digits, underscores)")
        return value

    @model_validator(mode="after")
    def _cross_field_rules(self) -> Resource:
        if self.sharing == "conditional" and not self.sharing_condition:
            raise ValueError("sharing is conditional but sharing_condition is missing: say who may use it and for what")
        if self.sharing == "none" and not self.sharing_reason:
            raise ValueError("sharing is none but sharing_reason is missing: cite the law or rule that forbids sharing")
        return self

    # -- conveniences --------------------------------------------------------------------------------------
    def field_by_column(self, column: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.column == column), None)

    def canonical_fields(self) -> dict[str, FieldSpec]:
        """Canonical field name → the field spec that feeds it."""
        return {f.maps_to: f for f in self.fields if f.maps_to}

    def field_sharing(self, spec: FieldSpec) -> SharingClass:
        return spec.sharing or self.sharing

    def allowed_canonical(self) -> tuple[str, ...]:
        return CANONICAL_FIELDS[self.entity]


class Department(StrictModel):
    name: str
    contact: str | None = None
    email: str | None = None


class District(StrictModel):
    name: str
    cleared: list[SharingClass] = Field(default_factory=lambda: ["unconditional"])
    """Sharing classes this district may see unmasked ('none' can never leave the city library)."""

    @field_validator("cleared")
    @classmethod
    def _none_never_cleared(cls, value: list[SharingClass]) -> list[SharingClass]:
        if "none" in value:
            raise ValueError("'none' cannot be cleared: fields not to be shared never leave the city library")
        return value


class Catalog(StrictModel):
    """The whole catalog of a city, validated."""

    directory: str
    resources: dict[str, Resource]
    departments: dict[str, Department]
    districts: dict[str, District]
    core_fields: dict[str, dict[str, list[str]]]
    """entity → canonical field → resource ids in order of authority (核心字段表)."""
    resource_files: dict[str, str] = Field(default_factory=dict)
    """resource id → the YAML file it came from (for messages)."""

    def resource(self, resource_id: str) -> Resource:
        from zhiwang.errors import UserError

        try:
            return self.resources[resource_id]
        except KeyError:
            known = ", ".join(sorted(self.resources)) or "(none)"
            raise UserError(
                f"No resource {resource_id!r} in the catalog at {self.directory}. Known resources: {known}. "
                "Check the spelling or add catalog/resources/<id>.yaml."
            ) from None

    def resources_for(self, entity: str) -> list[Resource]:
        return [r for r in self.resources.values() if r.entity == entity]

    def authority(self, entity: str, field: str) -> list[str]:
        return list(self.core_fields.get(entity, {}).get(field, []))
