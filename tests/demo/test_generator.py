"""The demo city generator: valid identifiers, declared formats, ground truth that matches the files,
every kind of mistake present, determinism by seed, and a second delivery that moves the city on."""

from __future__ import annotations

import csv
import fnmatch
import io
import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from catalog import load_catalog
from quality.validators import cn_id, uscc
from tests.conftest import CITY_CATALOG
from zhiwang.demo import generate_city
from zhiwang.demo.noise import MUTATIONS
from zhiwang.settings import get_settings

N = 2000
SEED = 7
ALL_KINDS = {k for kinds in MUTATIONS.values() for k, _ in kinds} | {
    "date_format", "date_excel_serial", "missing_value", "duplicate", "broken_missing_key", "broken_bad_date"}


def read_rows(path: Path, resource) -> tuple[list[str], list[dict[str, object]]]:  # noqa: ANN001
    """Read a delivered file the way its catalog entry says, independently of the connectors."""
    opts = resource.source.options()
    fmt = opts["format"]
    if fmt == "csv":
        text = path.read_bytes().decode(opts["encoding"])
        reader = csv.DictReader(io.StringIO(text), delimiter=opts.get("delimiter") or ",")
        rows = [{k: (v if v != "" else None) for k, v in r.items()} for r in reader]
        return list(reader.fieldnames or []), rows
    if fmt == "jsonl":
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return list(rows[0]), rows
    if fmt == "json":
        rows = json.loads(path.read_text(encoding="utf-8"))
        return list(rows[0]), rows
    if fmt == "parquet":
        table = pq.read_table(path)
        return table.column_names, table.to_pylist()
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True)
    ws = wb[opts["sheet"]]
    it = ws.iter_rows(values_only=True)
    header = list(next(it))
    rows = [dict(zip(header, r, strict=True)) for r in it]
    wb.close()
    return header, rows


def key_text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(CITY_CATALOG)


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory, catalog):  # noqa: ANN001
    settings = get_settings(tmp_path_factory.mktemp("city") / "home", CITY_CATALOG)
    summary = generate_city(settings, persons=N, seed=SEED, catalog=catalog)
    records = pq.read_table(settings.demo / "records.parquet").to_pylist()
    files = {}
    for rid, info in summary["resources"].items():
        files[rid] = read_rows(Path(info["file"]), catalog.resources[rid])
    return settings, summary, records, files


def truth_rows(records: list[dict], resource: str) -> list[dict]:
    rows = sorted((r for r in records if r["resource"] == resource), key=lambda r: r["row_number"])
    assert [r["row_number"] for r in rows] == list(range(1, len(rows) + 1))
    return rows


def test_every_catalog_resource_gets_a_file_matching_its_pattern(city, catalog) -> None:  # noqa: ANN001
    settings, summary, _, _ = city
    assert set(summary["resources"]) == set(catalog.resources)
    for rid, resource in catalog.resources.items():
        names = [p.name for p in settings.inbox_for(rid).iterdir()]
        assert len(names) == 1 and fnmatch.fnmatch(names[0], resource.source.options()["pattern"]), names
        assert names[0].endswith("_1." + resource.source.options()["format"])


def test_files_have_the_declared_encoding_and_columns(city, catalog) -> None:  # noqa: ANN001
    settings, summary, _, files = city
    gongan = Path(summary["resources"]["gongan_population"]["file"]).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        gongan.decode("utf-8")
    assert "公民身份号码" in gongan.decode("gb18030")
    assert Path(summary["resources"]["renshe_insured"]["file"]).read_bytes().startswith(b"\xef\xbb\xbf")
    assert not Path(summary["resources"]["wangge_population"]["file"]).read_bytes().startswith(b"\xef\xbb\xbf")
    for rid, (header, rows) in files.items():
        assert header == [f.column for f in catalog.resources[rid].fields], rid
        assert len(rows) == summary["resources"][rid]["rows"] > 0


def test_truth_record_keys_match_the_files(city, catalog) -> None:  # noqa: ANN001
    _, _, records, files = city
    for rid, (_, rows) in files.items():
        key_cols = catalog.resources[rid].record_key
        seen = []
        for row in rows:
            parts = [key_text(row[c]) for c in key_cols]
            seen.append(None if None in parts else "|".join(parts))
        truth = truth_rows(records, rid)
        assert [r["record_key"] for r in truth] == seen, rid
        keyed = [k for k in seen if k is not None]
        assert len(keyed) == len(set(keyed)), f"{rid}: record keys repeat within the file"


def test_identifiers_valid_unless_a_recorded_mistake(city) -> None:  # noqa: ANN001
    _, _, records, files = city
    persons = {p["person_id"]: p for p in pq.read_table(city[0].demo / "persons.parquet").to_pylist()}
    checked = 0
    for rid, column in (("gongan_population", "公民身份号码"), ("renshe_insured", "身份证号"),
                        ("weijian_health", "ZJHM"), ("wangge_population", "证件号码")):
        for row, truth in zip(files[rid][1], truth_rows(records, rid), strict=True):
            value, true_id = row[column], persons[truth["true_entity_id"]]["id_number"]
            kinds = set(truth["noise"])
            if value is None:
                assert "missing_value" in kinds
            elif kinds & {"id_digit_error", "id_transposition"}:
                assert not cn_id.is_valid(value) and cn_id.normalize(value) != true_id
            elif "id_15_digit" in kinds:
                assert len(value) == 15 and cn_id.normalize(value) == true_id
            else:
                assert value == (true_id.replace("X", "x") if "id_lowercase_x" in kinds else true_id)
                assert cn_id.is_valid(value)
                checked += 1
    assert checked > 3000
    for row, truth in zip(files["shichang_enterprise"][1], truth_rows(records, "shichang_enterprise"), strict=True):
        value, kinds = row["统一社会信用代码"], set(truth["noise"])
        if value is not None and not kinds & {"uscc_digit_error", "uscc_transposition"}:
            assert uscc.is_valid(value)
        elif value is not None:
            assert not uscc.is_valid(value)


def test_truth_entities_are_consistent(city) -> None:  # noqa: ANN001
    demo = city[0].demo
    persons = pq.read_table(demo / "persons.parquet").to_pylist()
    assert len(persons) == N and len({p["id_number"] for p in persons}) == N
    for p in persons:
        assert cn_id.is_valid(p["id_number"])
        assert cn_id.birth_date(p["id_number"]) == p["birth_date"]
        assert cn_id.gender(p["id_number"]) == p["gender"]
        assert p["residence_address"].startswith("深圳市") and p["residence_address"].endswith("室")
    firms = pq.read_table(demo / "legal_entities.parquet").to_pylist()
    ids = {p["person_id"] for p in persons}
    assert len({f["uscc"] for f in firms}) == len({f["name"] for f in firms}) == len(firms) == N // 15
    assert all(uscc.is_valid(f["uscc"]) and f["legal_rep_person_id"] in ids for f in firms)
    buildings = pq.read_table(demo / "buildings.parquet").to_pylist()
    assert len({b["building_code"] for b in buildings}) == len(buildings) == N // 40
    assert all(113.7 < b["lon"] < 114.4 and 22.4 < b["lat"] < 22.9 and b["floors"] >= 5 for b in buildings)


def test_every_kind_of_mistake_is_present(city) -> None:  # noqa: ANN001
    _, summary, records, _ = city
    seen = Counter(k for r in records for k in r["noise"])
    assert ALL_KINDS <= set(seen), ALL_KINDS - set(seen)
    assert set(summary["noise_totals"]) == set(seen)
    quarantined = [r for r in records if r["expected_quarantine"]]
    assert quarantined and all({"broken_missing_key", "broken_bad_date"} & set(r["noise"]) for r in quarantined)
    assert all(r["record_key"] is None for r in quarantined if "broken_missing_key" in r["noise"])


def test_noisy_names_are_the_kind_recorded(city) -> None:  # noqa: ANN001
    import opencc
    from pypinyin import Style, lazy_pinyin

    _, _, records, files = city
    persons = {p["person_id"]: p["name"] for p in pq.read_table(city[0].demo / "persons.parquet").to_pylist()}
    t2s = opencc.OpenCC("t2s")
    kinds = Counter()
    for row, truth in zip(files["gongan_population"][1], truth_rows(records, "gongan_population"), strict=True):
        written, true = row["姓名"], persons[truth["true_entity_id"]]
        noise = [k for k in truth["noise"] if k.startswith("name_")]
        if not noise:
            assert written == true
        elif noise == ["name_homophone"]:
            assert written != true and lazy_pinyin(written, style=Style.NORMAL) == lazy_pinyin(true, style=Style.NORMAL)
        elif noise == ["name_traditional"]:
            assert written != true and t2s.convert(written) == true
        elif noise == ["name_space"]:
            assert "".join(written.split()) == true
        kinds.update(noise)
    assert len(kinds) == 4


def test_common_names_repeat(city) -> None:  # noqa: ANN001
    names = Counter(p["name"] for p in pq.read_table(city[0].demo / "persons.parquet").to_pylist())
    top = [n for n, _ in names.most_common(10)]
    assert names.most_common(1)[0][1] >= 4
    assert {"张伟", "王伟", "李伟", "王芳", "李芳", "张芳", "刘伟", "李娜", "王娜"} & set(top)


def test_same_seed_same_bytes_other_seed_other_city(tmp_path: Path, catalog) -> None:  # noqa: ANN001
    outputs = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        settings = get_settings(tmp_path / name, CITY_CATALOG)
        generate_city(settings, persons=300, seed=seed, catalog=catalog)
        outputs.append({p.relative_to(settings.home): p.read_bytes() for p in sorted(settings.home.rglob("*.*"))
                        if p.is_file() and p.name != "meta.json"})
    assert outputs[0] == outputs[1]
    assert outputs[0].keys() == outputs[2].keys() and outputs[0] != outputs[2]


def test_second_delivery_moves_the_city_on(tmp_path: Path, catalog) -> None:  # noqa: ANN001
    settings = get_settings(tmp_path / "home", CITY_CATALOG)
    first = generate_city(settings, persons=800, seed=11, catalog=catalog)
    d1_records = pq.read_table(settings.demo / "records.parquet").to_pylist()
    second = generate_city(settings, persons=800, seed=11, delivery=2, catalog=catalog)
    assert second["as_of"] > first["as_of"] and second["events"]["births"] > 0 and second["events"]["moves"] > 0
    for rid in catalog.resources:
        paths = sorted(settings.inbox_for(rid).iterdir())
        assert len(paths) == 2 and paths[0].name.endswith("_1." + catalog.resources[rid].source.options()["format"])
        assert paths[0].read_bytes() != paths[1].read_bytes(), f"{rid}: delivery 2 repeats delivery 1"
    buildings = pq.read_table(settings.demo / "buildings.parquet").to_pylist()
    new = [b for b in buildings if b["first_delivery"] == 2]
    assert new and len({b["building_code"] for b in buildings}) == len(buildings)
    old = {(b["estate"], b["community"]) for b in buildings if b["first_delivery"] == 1}
    assert all((b["estate"], b["community"]) in old for b in new)  # new towers rise in existing estates
    records = pq.read_table(settings.demo / "records.parquet").to_pylist()
    assert [r for r in records if r["delivery"] == 1] == d1_records
    persons = {p["person_id"]: p for p in pq.read_table(settings.demo / "persons.parquet").to_pylist()}
    assert len(persons) > 800 and any(p["first_delivery"] == 2 for p in persons.values())
    moved = {pid for pid, p in persons.items() if "residence_address" in (p["changed_fields"] or "")}
    dead = {pid for pid, p in persons.items() if not p["alive"]}
    assert moved
    d2 = [r for r in records if r["delivery"] == 2 and r["entity"] == "person"]
    assert not dead & {r["true_entity_id"] for r in d2}
    # a record keeps its key from one delivery to the next
    key1 = {(r["resource"], r["true_entity_id"]): r["record_key"] for r in d1_records
            if r["record_key"] and "duplicate" not in r["noise"] and r["resource"] == "gongan_population"}
    key2 = {(r["resource"], r["true_entity_id"]): r["record_key"] for r in d2
            if r["record_key"] and "duplicate" not in r["noise"] and r["resource"] == "gongan_population"}
    common = key1.keys() & key2.keys()
    assert len(common) > 600 and all(key1[k] == key2[k] for k in common)
    # the moved people's new address is what wangge delivers the second time
    header, rows = read_rows(Path(second["resources"]["wangge_population"]["file"]),
                             catalog.resources["wangge_population"])
    truth = sorted((r for r in d2 if r["resource"] == "wangge_population"), key=lambda r: r["row_number"])
    clean_moved = [(row, t) for row, t in zip(rows, truth, strict=True)
                   if t["true_entity_id"] in moved and not any(k.startswith(("address_", "missing")) for k in t["noise"])]
    assert clean_moved and all(row["居住地址"] == persons[t["true_entity_id"]]["residence_address"] for row, t in clean_moved)


def test_cli_generate_prints_a_summary(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from zhiwang.cli import app

    home = tmp_path / "home"
    result = CliRunner().invoke(app, ["demo", "generate", "--persons", "200", "--seed", "3", "--json",
                                      "--home", str(home), "--catalog", str(CITY_CATALOG)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["persons"] == 200 and len(summary["resources"]) == 9
    table = CliRunner().invoke(app, ["demo", "generate", "--persons", "200", "--seed", "3",
                                     "--home", str(home), "--catalog", str(CITY_CATALOG)])
    assert table.exit_code == 0, table.output
    assert "gongan_population_20260901_1.csv" in table.stdout and "kinds of mistakes" in table.stdout
    bad = CliRunner().invoke(app, ["demo", "generate", "--persons", "10", "--home", str(home)])
    assert bad.exit_code != 0


def test_a_catalog_that_renamed_a_required_column_is_refused(tmp_path: Path) -> None:
    import shutil

    from zhiwang.errors import ConfigError

    copy = tmp_path / "catalog"
    shutil.copytree(CITY_CATALOG, copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    path = copy / "resources" / "gongan_population.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("人员编号", "人口编号"), encoding="utf-8")
    with pytest.raises(ConfigError, match="gongan_population: 人口编号"):
        generate_city(get_settings(tmp_path / "home", copy), persons=100, seed=1)
