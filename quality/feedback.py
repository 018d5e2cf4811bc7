"""Feedback to the providing department (谁提供、谁负责): per delivery, every problem row by record key.

``feedback/<provider>/<batch_id>.xlsx`` (sheets 问题清单 and 概要) and ``.csv`` (UTF-8 with BOM, so Excel
opens it), Chinese headers. Values are shown as the quarantine holds them: identifiers masked.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from catalog.models import Catalog, Resource
from quality.checks import summary_and_fix
from zhiwang.settings import Settings

HEADERS = ["记录标识", "行号", "字段", "问题", "说明", "问题值（已脱敏）", "严重程度", "处理结果", "修改建议", "检查项"]
SEVERITY = {"error": "错误", "warning": "警告"}


def feedback_paths(settings: Settings, provider: str, batch_id: str) -> tuple[Path, Path]:
    folder = settings.feedback / provider
    return folder / f"{batch_id}.xlsx", folder / f"{batch_id}.csv"


def _row(key: Any, number: Any, reason: dict[str, Any], outcome: str) -> list[Any]:
    summary, fix = summary_and_fix(reason.get("check") or "")
    return [key, number, reason.get("column"), summary, reason.get("message"), reason.get("value"),
            SEVERITY.get(reason.get("severity") or "error", reason.get("severity")), outcome, fix, reason.get("check")]


def problem_rows(quarantined: list[dict[str, Any]], accepted: pa.Table | None, rejection: str | None) -> list[list[Any]]:
    """One line per problem: whole-file rejection, quarantined rows' reasons, accepted rows' warnings."""
    rows: list[list[Any]] = []
    if rejection:
        rows.append(["（整个文件）", None, None, "文件被拒收", rejection, None, "错误", "整批未入库",
                     "按说明补齐或更正后重新报送整个文件", "delivery"])
    for entry in quarantined:
        for reason in entry["reasons"]:
            rows.append(_row(entry["_record_key"], entry["_row_number"], reason, "已隔离，未入库"))
    if accepted is not None and "_warnings" in accepted.schema.names and accepted.num_rows:
        flagged = accepted.filter(pc.fill_null(pc.and_(pc.is_valid(accepted["_warnings"]),
                                                       pc.not_equal(accepted["_warnings"], "[]")), False))
        for rec in flagged.select(["_record_key", "_row_number", "_warnings"]).to_pylist():
            for reason in json.loads(rec["_warnings"]):
                rows.append(_row(rec["_record_key"], rec["_row_number"], reason, "已入库，已标记"))
    rows.sort(key=lambda r: (r[1] is not None, r[1] or 0))
    return rows


def write_feedback(*, settings: Settings, resource: Resource, catalog: Catalog, batch_id: str, source_name: str,
                   quarantined: list[dict[str, Any]], accepted: pa.Table | None, rejection: str | None,
                   accepted_rows: int | None = None, unchanged_rows: int = 0) -> tuple[Path, Path]:
    """Write both files for one delivery (replacing an earlier version, e.g. after a release).
    ``accepted`` may hold only the accepted rows that carry warnings; ``accepted_rows`` then gives the count.
    ``unchanged_rows``: rows identical to their record's accepted row of an earlier delivery, not checked again
    (their findings, if any, are in that delivery's feedback)."""
    rows = problem_rows(quarantined, accepted, rejection)
    xlsx_path, csv_path = feedback_paths(settings, resource.provider, batch_id)
    xlsx_path.parent.mkdir(parents=True, exist_ok=True)
    dept = catalog.departments.get(resource.provider)
    summary = [
        ("部门", f"{resource.provider} {dept.name if dept else ''}".strip()),
        ("资源", f"{resource.id} {resource.title}"),
        ("批次", batch_id),
        ("文件", source_name),
        ("隔离行数", len(quarantined)),
        ("已入库行数", accepted_rows if accepted_rows is not None else (accepted.num_rows if accepted is not None else 0)),
        *([("未变更行数", unchanged_rows),
           ("未变更说明", "与上次报送已入库的记录完全相同（unchanged since the last delivery），沿用原入库结果，未重复校验；"
                     "其问题（如有）见首次入库批次的反馈")] if unchanged_rows else []),
        ("问题条数", len(rows)),
        ("说明", rejection or "隔离的记录未进入市级库；请按修改建议更正后重新报送（同一记录标识的更正会替代隔离记录）"),
    ]

    tmp_csv = csv_path.with_suffix(".csv.partial")
    with tmp_csv.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADERS)
        writer.writerows(rows)
    os.replace(tmp_csv, csv_path)

    import xlsxwriter

    tmp_xlsx = xlsx_path.with_suffix(".xlsx.partial")
    book = xlsxwriter.Workbook(str(tmp_xlsx), {"constant_memory": True})
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet("问题清单")
    sheet.write_row(0, 0, HEADERS, bold)
    for i, row in enumerate(rows, start=1):
        sheet.write_row(i, 0, ["" if v is None else v for v in row])
    sheet.set_column(0, 0, 18)
    sheet.set_column(3, 4, 40)
    sheet.set_column(8, 8, 40)
    info = book.add_worksheet("概要")
    for i, (label, value) in enumerate(summary):
        info.write(i, 0, label, bold)
        info.write(i, 1, value)
    info.set_column(1, 1, 60)
    book.close()
    os.replace(tmp_xlsx, xlsx_path)
    return xlsx_path, csv_path


def write_rejection_feedback(*, settings: Settings, resource: Resource, catalog: Catalog, batch_id: str,
                             source_name: str, message: str, quarantined: list[dict[str, Any]] | None = None,
                             ) -> tuple[Path, Path]:
    """Feedback for a delivery rejected whole before the gate (e.g. staging found a required column missing)."""
    return write_feedback(settings=settings, resource=resource, catalog=catalog, batch_id=batch_id,
                          source_name=source_name, quarantined=quarantined or [], accepted=None, rejection=message)
