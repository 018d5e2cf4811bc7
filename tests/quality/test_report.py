"""The stewards' HTML report: self-contained, and rendered by headless Chromium with networking disabled."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from quality.report import write_report
from tests.quality.conftest import deliver, person
from zhiwang.settings import get_settings

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture()
def report(tmp_path: Path, resource, catalog, catalog_dir) -> Path:
    settings = get_settings(tmp_path / "home", catalog_dir)
    rows = [person(i) for i in range(8)]
    rows[1]["所属区划"] = "440102"                     # error
    rows[2]["手机号码"] = "0755-8888888"               # warning
    rows[3]["公民身份号码"] = rows[3]["公民身份号码"][:-1] + ("1" if rows[3]["公民身份号码"][-1] == "0" else "0")
    deliver(settings, resource, catalog, rows, "b1", "2026-11-01T09:00:00")
    deliver(settings, resource, catalog, [person(i) for i in range(2)], "b2", "2026-11-02T09:00:00")  # held
    return write_report(settings, catalog)


def test_report_is_self_contained(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    assert not re.search(r"(src|href)\s*=|https?://|<script|<link|@import|url\(", html)  # nothing to fetch
    for text in ("cn_division_code", "cn_mobile", "cn_id_number", "440104", "zhiwang quality release b2", "市公安局"):
        assert text in html
    assert person(3)["公民身份号码"] not in html  # identifiers only ever masked


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (apt-get install chromium)")
def test_report_renders_in_headless_chromium_offline(report: Path, tmp_path: Path) -> None:
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
             "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND"]
    dom = subprocess.run([*flags, "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=120, check=True).stdout
    assert "织网 数据质量报告" in dom
    failing = re.findall(r'<td class="(error|warning)">([a-z_0-9]+)</td>', dom)
    assert ("error", "cn_division_code") in failing and ("warning", "cn_mobile") in failing and ("warning", "cn_id_number") in failing
    assert "<svg" in dom and "87.5%" in dom
    shot = tmp_path / "report.png"
    subprocess.run([*flags, f"--screenshot={shot}", "--window-size=1280,2000", report.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
