"""The file_drop connector on real files: ordering, patterns, landing, duplicates, rejection, hostile names."""

from __future__ import annotations

import hashlib
import os
from datetime import datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from catalog.models import Resource
from connectors.base import ConnectorContext, Window
from connectors.file_drop import FileDelivery, FileDropConfig, FileDropConnector, safe_name
from connectors.formats import UnreadableFileError, read_batches
from connectors.registry import get_connector_class, parse_source
from connectors.state import StateStore

RESOURCE_ID = "gongan_population"


def resource(**source: object) -> Resource:
    return Resource.model_validate({
        "id": RESOURCE_ID, "title": "实有人口", "provider": "gongan", "category": "base", "entity": "person",
        "update_cycle": "daily", "sharing": "unconditional",
        "source": {"connector": "file_drop", **source},
        "record_key": ["登记编号"],
        "fields": [{"column": "登记编号"}, {"column": "姓名", "maps_to": "name"}],
    })


def connector(settings, **source: object) -> FileDropConnector:  # noqa: ANN001 - the conftest fixture
    res = resource(**source)
    ctx = ConnectorContext(resource=res, settings=settings, state=StateStore(settings.state_db))
    return FileDropConnector(parse_source(res), ctx)


def drop(settings, name: str, content: bytes | str = "登记编号,姓名\n0001,张三\n", mtime: float | None = None,  # noqa: ANN001
         encoding: str = "utf-8") -> Path:
    inbox = settings.inbox_for(RESOURCE_ID)
    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / name
    path.write_bytes(content.encode(encoding) if isinstance(content, str) else content)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def names(conn: FileDropConnector) -> list[str]:
    return [d.source_name for d in conn.deliveries(Window())]


def test_registered_and_parsed_from_the_catalog(settings) -> None:  # noqa: ANN001
    assert get_connector_class("file_drop") is FileDropConnector
    cfg = parse_source(resource(pattern=["*.csv", "*.xlsx"], encoding="gbk", delimiter="tab", sheet=0))
    assert isinstance(cfg, FileDropConfig)
    assert cfg.patterns() == ["*.csv", "*.xlsx"] and cfg.delimiter == "\t" and cfg.encoding == "gbk"


@pytest.mark.parametrize(("options", "match"), [
    ({"patern": "*.csv"}, "patern"),
    ({"encoding": "big5"}, "encoding"),
    ({"delimiter": ";;"}, "must be one character"),
    ({"pattern": "../*.csv"}, "without folders"),
    ({"pattern": []}, "empty list"),
    ({"format": "xlsx", "delimiter": ","}, "delimiter is only for CSV/TSV files"),
    ({"format": "csv", "sheet": "数据"}, "sheet is only for Excel files"),
])
def test_config_mistakes_are_refused(options: dict[str, object], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        FileDropConfig.model_validate({"connector": "file_drop", **options})


def test_no_inbox_means_no_deliveries(settings) -> None:  # noqa: ANN001
    assert names(connector(settings)) == []


def test_oldest_first_then_by_name(settings) -> None:  # noqa: ANN001
    drop(settings, "c.csv", mtime=1_700_000_300)
    drop(settings, "b.csv", mtime=1_700_000_100)
    drop(settings, "a.csv", mtime=1_700_000_300)
    assert names(connector(settings)) == ["b.csv", "a.csv", "c.csv"]


def test_patterns_are_case_insensitive_and_in_progress_files_are_passed_over(settings) -> None:  # noqa: ANN001
    for name in ("人口.CSV", "人口.xlsx", "其他.json", ".hidden.csv", "上传中.csv.partial", "x.CSV.TMP",
                 "~$人口.xlsx", "notes.txt"):
        drop(settings, name)
    inbox = settings.inbox_for(RESOURCE_ID)
    for folder in ("_rejected", "_duplicates", "sub.csv"):
        (inbox / folder).mkdir()
        (inbox / folder / "inside.csv").write_text("a\n1\n")
    os.mkfifo(inbox / "pipe.csv")  # never opened: it would block the run
    assert sorted(names(connector(settings, pattern=["*.csv", "人口*"]))) == ["人口.CSV", "人口.xlsx"]
    assert sorted(names(connector(settings))) == ["notes.txt", "人口.CSV", "人口.xlsx", "其他.json"]


def test_land_moves_the_file_and_describes_it(settings) -> None:  # noqa: ANN001
    content = "登记编号,姓名\n0001,张三\n0002,李四\n".encode("gb18030")
    path = drop(settings, "人口 2026-01.csv", content, mtime=1_700_000_000)
    [delivery] = connector(settings, delimiter=",").deliveries(Window())
    digest = hashlib.sha256(content).hexdigest()
    assert delivery.fingerprint() == digest
    landing = settings.landing / RESOURCE_ID
    landed = delivery.land(landing, "b1")
    assert not path.exists()
    assert landed.path == landing / f"{digest[:16]}__人口 2026-01.csv" and landed.path.read_bytes() == content
    assert landed.sha256 == digest and landed.format == "csv" and landed.encoding == "gb18030"
    assert landed.source_name == "人口 2026-01.csv"
    assert landed.delivered_at == datetime.fromtimestamp(1_700_000_000)
    assert landed.options == {"delimiter": ",", "sheet": None}
    assert [r["姓名"] for b in read_batches(landed) for r in b.to_pylist()] == ["张三", "李四"]
    assert sorted(p.name for p in landing.iterdir()) == [landed.path.name]  # no temporary left behind
    delivery.acknowledge()
    assert names(connector(settings)) == []


def test_land_hashes_again_when_the_file_changed_after_its_fingerprint(settings) -> None:  # noqa: ANN001
    path = drop(settings, "a.csv", "a\n1\n")
    [delivery] = connector(settings).deliveries(Window())
    first = delivery.fingerprint()
    path.write_text("a\n1\n2\n")
    landed = delivery.land(settings.landing / RESOURCE_ID, "b1")
    assert landed.sha256 != first and landed.sha256 == hashlib.sha256(b"a\n1\n2\n").hexdigest()


def test_configured_encoding_and_format_override(settings) -> None:  # noqa: ANN001
    drop(settings, "export.dat", "a;b\n1;2\n")
    [delivery] = connector(settings, format="csv", encoding="gbk").deliveries(Window())
    landed = delivery.land(settings.landing / RESOURCE_ID, "b1")
    assert (landed.format, landed.encoding) == ("csv", "gb18030")
    assert [b.to_pylist() for b in read_batches(landed)] == [[{"a": "1", "b": "2"}]]


def test_skip_moves_a_duplicate_aside_with_a_note(settings) -> None:  # noqa: ANN001
    drop(settings, "人口.csv")
    [delivery] = connector(settings).deliveries(Window())
    delivery.fingerprint()
    delivery.skip("与 2026-01-02 接收的批次 b7 内容相同 / identical to batch b7 ingested 2026-01-02")
    folder = settings.inbox_for(RESOURCE_ID) / "_duplicates"
    assert sorted(p.name for p in folder.iterdir()) == ["人口.csv", "人口.csv.skipped.txt"]
    note = (folder / "人口.csv.skipped.txt").read_text(encoding="utf-8")
    assert "identical to batch b7" in note and "重复文件" in note and "Duplicate file" in note
    assert names(connector(settings)) == []


def test_unknown_format_is_rejected_with_the_supported_formats(settings) -> None:  # noqa: ANN001
    drop(settings, "人口.docx", b"PK\x03\x04 not ours")
    [delivery] = connector(settings).deliveries(Window())
    assert delivery.fingerprint() is not None  # the runner asks first, to spot duplicates
    with pytest.raises(UnreadableFileError, match=r"人口\.docx: files of type '\.docx' are not supported\. Supported: CSV"):
        delivery.land(settings.landing / RESOURCE_ID, "b1")
    delivery.reject(None, "the runner's own reject after the error changes nothing")
    folder = settings.inbox_for(RESOURCE_ID) / "_rejected"
    assert sorted(p.name for p in folder.iterdir()) == ["人口.docx", "人口.docx.error.txt"]
    note = (folder / "人口.docx.error.txt").read_text(encoding="utf-8")
    assert "文件未被接收 / File not accepted: 人口.docx" in note
    assert "are not supported. Supported: CSV (.csv/.txt), TSV" in note and "runner's own" not in note
    assert f"inbox/{RESOURCE_ID}/" in note and "如何重新提交" in note
    assert "How to deliver again" in note and "SHA-256: " in note


def test_reject_after_landing_takes_the_landed_copy_and_numbers_collisions(settings) -> None:  # noqa: ANN001
    landing = settings.landing / RESOURCE_ID
    for round_ in (1, 2):
        drop(settings, "人口.csv", f"登记编号,姓名\n{round_},张三,多余\n")
        [delivery] = connector(settings).deliveries(Window())
        landed = delivery.land(landing, f"b{round_}")
        with pytest.raises(UnreadableFileError) as info:
            list(read_batches(landed))
        delivery.reject(landed, str(info.value))
        assert list(landing.iterdir()) == []
        delivery.reject(landed, "a second call changes nothing")
    folder = settings.inbox_for(RESOURCE_ID) / "_rejected"
    assert sorted(p.name for p in folder.iterdir()) == [
        "人口.csv", "人口.csv.error.txt", "人口_2.csv", "人口_2.csv.error.txt"]
    assert (folder / "人口_2.csv").read_text(encoding="utf-8").startswith("登记编号,姓名\n2,")
    note = (folder / "人口_2.csv.error.txt").read_text(encoding="utf-8")
    assert "line 2 has 3 fields" in note and "a second call" not in note


def test_symlink_is_refused_never_followed(settings, tmp_path: Path) -> None:  # noqa: ANN001
    secret = tmp_path / "secret.csv"
    secret.write_text("登记编号,姓名\n1,机密\n", encoding="utf-8")
    inbox = settings.inbox_for(RESOURCE_ID)
    inbox.mkdir(parents=True)
    (inbox / "人口.csv").symlink_to(secret)
    [delivery] = connector(settings).deliveries(Window())
    assert delivery.fingerprint() is None
    with pytest.raises(UnreadableFileError, match=r"人口\.csv: is a symbolic link; links are never followed"):
        delivery.land(settings.landing / RESOURCE_ID, "b1")
    delivery.reject(None, "a second reject finds nothing left to move")
    moved = inbox / "_rejected" / "人口.csv"
    assert moved.is_symlink() and secret.read_text(encoding="utf-8").endswith("机密\n")
    assert not (settings.landing / RESOURCE_ID).exists() or list((settings.landing / RESOURCE_ID).iterdir()) == []
    assert "symbolic link" in (inbox / "_rejected" / "人口.csv.error.txt").read_text(encoding="utf-8")
    assert sorted(p.name for p in (inbox / "_rejected").iterdir()) == ["人口.csv", "人口.csv.error.txt"]


@pytest.mark.parametrize(("name", "safe"), [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\Windows\\人口.csv", "人口.csv"),
    ("..", "file"),
    ("...", "file"),
    ("a\x00b.csv", "a_b.csv"),
    ("名单\n第二行\t.csv", "名单_第二行_.csv"),
    ("a:b?<c>|*.csv", "a_b__c___.csv"),
    (".bashrc", "bashrc"),
    ("x" * 300 + ".csv", "x" * 176 + ".csv"),
    ("人" * 100 + ".xlsx", "人" * 58 + ".xlsx"),
])
def test_safe_name(name: str, safe: str) -> None:
    assert safe_name(name) == safe
    assert len(safe_name(name).encode("utf-8")) <= 180


def test_hostile_file_name_stays_in_its_folder(settings) -> None:  # noqa: ANN001
    name = "x\\..\\..\\evil\n名单.csv"  # a legal file name on Linux
    drop(settings, name)
    [delivery] = connector(settings).deliveries(Window())
    assert isinstance(delivery, FileDelivery) and delivery.source_name == "x\\..\\..\\evil?名单.csv"
    landing = settings.landing / RESOURCE_ID
    landed = delivery.land(landing, "../b1")
    assert landed.path.parent == landing and landed.path.name.endswith("__evil_名单.csv")
    delivery.reject(landed, "test")
    rejected = settings.inbox_for(RESOURCE_ID) / "_rejected"
    assert sorted(p.name for p in rejected.iterdir()) == ["evil_名单.csv", "evil_名单.csv.error.txt"]
    assert sorted(p.name for p in settings.home.rglob("*") if p.is_file() and "evil" in p.name) == [
        "evil_名单.csv", "evil_名单.csv.error.txt"]


def test_file_gone_before_landing(settings) -> None:  # noqa: ANN001
    path = drop(settings, "a.csv")
    [delivery] = connector(settings).deliveries(Window())
    path.unlink()
    with pytest.raises(UnreadableFileError, match=r"a\.csv: disappeared from the inbox"):
        delivery.land(settings.landing / RESOURCE_ID, "b1")
    delivery.reject(None, "gone")  # nothing to move, nothing to fail
    assert not (settings.inbox_for(RESOURCE_ID) / "_rejected").exists()


def test_link_swapped_in_while_landing_is_not_read(settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from connectors.file_drop import connector as module

    secret = tmp_path / "secret.csv"
    secret.write_text("a\n机密\n", encoding="utf-8")
    real_move = module._move

    def move_then_swap(source: Path, target: Path) -> None:
        real_move(source, target)
        target.unlink()
        target.symlink_to(secret)

    drop(settings, "a.csv")
    [delivery] = connector(settings).deliveries(Window())
    delivery.fingerprint()
    monkeypatch.setattr(module, "_move", move_then_swap)
    with pytest.raises(UnreadableFileError, match=r"symbolic link"):
        delivery.land(settings.landing / RESOURCE_ID, "b1")
    assert list((settings.landing / RESOURCE_ID).iterdir()) == []
    assert (settings.inbox_for(RESOURCE_ID) / "_rejected" / "a.csv").is_symlink()


def test_link_cannot_be_hashed(settings, tmp_path: Path) -> None:  # noqa: ANN001
    from connectors.file_drop.connector import _sha256_regular

    target = tmp_path / "t.csv"
    target.write_text("a\n1\n")
    (tmp_path / "l.csv").symlink_to(target)
    with pytest.raises(OSError):
        _sha256_regular(tmp_path / "l.csv")


def test_rejected_folder_that_is_a_link_is_not_written_through(settings, tmp_path: Path) -> None:  # noqa: ANN001
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    drop(settings, "a.docx", b"x")
    (settings.inbox_for(RESOURCE_ID) / "_rejected").symlink_to(elsewhere)
    [delivery] = connector(settings).deliveries(Window())
    with pytest.raises(UnreadableFileError, match=r"_rejected is a symbolic link; zhiwang never writes through links"):
        delivery.land(settings.landing / RESOURCE_ID, "b1")
    assert list(elsewhere.iterdir()) == [] and (settings.inbox_for(RESOURCE_ID) / "a.docx").exists()
