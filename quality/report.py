"""``zhiwang quality report``: one self-contained HTML page for stewards (``quality/docs/index.html``).

GE's Data Docs load Bootstrap, jQuery and Vega from public CDNs that a government intranet cannot reach,
so this page carries its own CSS and draws its bars as inline SVG: no script, no font, no external URL.
"""

from __future__ import annotations

import datetime as dt
import os
from html import escape
from pathlib import Path
from typing import Any

from quality.checks import summary_and_fix
from quality.scorecard import ordered_deliveries, quarantine_entries, scorecard
from zhiwang.settings import Settings

CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;color:#222;background:#fafafa}
h1{font-size:1.6em}h2{border-bottom:2px solid #c0392b;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0 1.5em;background:#fff}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top;font-size:.92em}
th{background:#eee}.num{text-align:right}.error{color:#b00020;font-weight:bold}.warning{color:#a15c00}
.status-held{background:#fff3cd}.status-rejected{background:#f8d7da}.muted{color:#777}
code{background:#eee;padding:0 .3em}details{margin:.3em 0 1em}
"""
SAMPLE = 50


def _bar(fraction: float | None, width: int = 160) -> str:
    """An inline SVG bar (no chart library): green share = fraction."""
    if fraction is None:
        return ""
    filled = max(0, min(width, round(fraction * width)))
    return (f'<svg width="{width}" height="12" role="img" aria-label="{fraction:.1%}">'
            f'<rect width="{width}" height="12" fill="#e0e0e0"/><rect width="{filled}" height="12" fill="#2e7d32"/></svg>')


def _checks_table(counts: dict[str, int], severity: str) -> str:
    if not counts:
        return ""
    top = max(counts.values())
    rows = "".join(
        f'<tr><td class="{severity}">{escape(check)}</td><td>{escape(summary_and_fix(check)[0])}</td>'
        f'<td class="num">{n}</td><td>{_bar(n / top, 120)}</td><td>{escape(summary_and_fix(check)[1])}</td></tr>'
        for check, n in counts.items())
    label = "错误（已隔离）" if severity == "error" else "警告（已入库并标记）"
    return (f'<table class="checks {severity}"><tr><th>{label} 检查项</th><th>问题</th><th>次数</th><th></th>'
            f'<th>修改建议</th></tr>{rows}</table>')


def render(settings: Settings, catalog: Any, now: dt.datetime | None = None) -> str:
    cards = scorecard(settings, catalog)
    deliveries = ordered_deliveries(settings)
    parts = [f"<h1>织网 数据质量报告 / zhiwang data quality report</h1>"
             f'<p class="muted">生成时间 {escape((now or dt.datetime.now()).isoformat(timespec="seconds"))}；'
             f"{len(deliveries)} 批次，{len(cards)} 个部门。</p>", "<h2>部门评分 / Scorecard</h2>"]
    if not cards:
        parts.append("<p>尚无报送记录 / no deliveries yet.</p>")
    parts.append("<table><tr><th>部门</th><th>批次</th><th>读取行数</th><th>入库</th><th>隔离</th><th>警告</th>"
                 "<th>入库率</th><th></th><th>未处理隔离</th><th>已被更正替代</th><th>近期入库率</th></tr>")
    for c in cards:
        rate = c["acceptance_rate"]
        trend = " → ".join("—" if t["acceptance_rate"] is None else f"{t['acceptance_rate']:.0%}" for t in c["trend"])
        parts.append(
            f"<tr><td>{escape(c['provider'])} {escape(c['name'])}</td><td class='num'>{c['deliveries']}</td>"
            f"<td class='num'>{c['rows_read']}</td><td class='num'>{c['rows_accepted']}</td>"
            f"<td class='num'>{c['rows_quarantined']}</td><td class='num'>{c['rows_warned']}</td>"
            f"<td class='num'>{'—' if rate is None else f'{rate:.1%}'}</td><td>{_bar(rate)}</td>"
            f"<td class='num'>{c['quarantine_open']}</td><td class='num'>{c['quarantine_superseded']}</td>"
            f"<td>{escape(trend)}</td></tr>")
    parts.append("</table>")
    for c in cards:
        parts.append(f"<h2>{escape(c['provider'])} {escape(c['name'])}：未通过的检查 / failing checks</h2>")
        if not (c["errors_by_check"] or c["warnings_by_check"]):
            parts.append("<p>全部通过 / every check passed.</p>")
        parts.append(_checks_table(c["errors_by_check"], "error"))
        parts.append(_checks_table(c["warnings_by_check"], "warning"))
    parts.append(_deliveries_table(deliveries))
    parts.append(_quarantine_samples(settings, sorted({d.resource for d in deliveries})))
    body = "\n".join(parts)
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>织网 数据质量报告</title>'
            f"<style>{CSS}</style></head><body>{body}</body></html>")


def _deliveries_table(deliveries: list[Any]) -> str:
    rows = []
    for d in reversed(deliveries):
        rows.append(
            f"<tr class='status-{escape(d.status)}'><td>{escape(d.resource)}</td><td><code>{escape(d.batch_id)}</code></td>"
            f"<td>{escape(d.file or '')}</td><td>{escape(d.status)}</td><td class='num'>{d.rows_read}</td>"
            f"<td class='num'>{d.rows_staged}</td><td class='num'>{d.rows_quarantined}</td><td class='num'>{d.rows_unchanged}</td>"
            f"<td class='num'>{d.rows_warned}</td>"
            f"<td>{escape(d.message or '')}</td></tr>")
    return ("<h2>批次 / Deliveries</h2><table><tr><th>资源</th><th>批次</th><th>文件</th><th>状态</th><th>读取</th>"
            "<th>入库</th><th>隔离</th><th title='unchanged since the last delivery'>未变更</th><th>警告</th><th>说明</th></tr>" + "".join(rows) + "</table>")


def _quarantine_samples(settings: Settings, resources: list[str]) -> str:
    parts = ["<h2>隔离记录 / Quarantined rows</h2>"]
    for rid in resources:
        entries = [e for e in quarantine_entries(settings, rid) if e["status"] == "open"]
        if not entries:
            continue
        rows = "".join(
            f"<tr><td><code>{escape(e['batch_id'])}</code></td><td class='num'>{e['row_number']}</td>"
            f"<td>{escape(str(e['record_key']))}</td><td>{escape(', '.join(e['checks']))}</td>"
            f"<td>{'<br>'.join(escape(r['message'] + (' [' + r['value'] + ']' if r['value'] else '')) for r in e['reasons'])}</td></tr>"
            for e in entries[:SAMPLE])
        more = f"<p class='muted'>另有 {len(entries) - SAMPLE} 条，见 <code>zhiwang quarantine list --resource {escape(rid)}</code></p>" if len(entries) > SAMPLE else ""
        parts.append(f"<details open><summary>{escape(rid)}：{len(entries)} 条未处理</summary><table><tr><th>批次</th>"
                     f"<th>行号</th><th>记录标识</th><th>检查项</th><th>原因（已脱敏）</th></tr>{rows}</table>{more}</details>")
    return "\n".join(parts)


def write_report(settings: Settings, catalog: Any, now: dt.datetime | None = None) -> Path:
    out = settings.quality_docs / "index.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".html.partial")
    tmp.write_text(render(settings, catalog, now), encoding="utf-8")
    os.replace(tmp, out)
    return out
