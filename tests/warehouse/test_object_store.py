"""The warehouse on an S3-compatible object store (moto's S3 server in a subprocess on 127.0.0.1): publish,
time travel, mirrors, incremental second publish, an exclusive registry, and sharing from the store."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from warehouse.storage import ObjectStorage, WarehouseLocation, parse_location, storage_for
from zhiwang.errors import ConfigError, UserError

# ---------------------------------------------------------------------------------------------------------
# configuration (no server needed)


@pytest.mark.parametrize(("raw", "message"), [
    ("gs://bucket/x", "scheme 'gs' is not supported"),
    ("s3://", "names no bucket"),
    ("s3://Bad_Bucket/x", "'Bad_Bucket' is not a valid S3 bucket name"),
    ("s3://AKIA:secret@zw-bucket/x", "embeds credentials"),
    ("s3://zw-bucket/x?region=cn", "query or fragment"),
    ("file://host/x", "names no host"),
])
def test_a_bad_warehouse_uri_is_a_config_error_naming_the_variable(raw, message, tmp_path):
    with pytest.raises(ConfigError, match=f"ZHIWANG_WAREHOUSE_URI = .*{message}"):
        parse_location(raw, tmp_path)


def test_warehouse_uri_parses_and_defaults_to_the_data_home(tmp_path, monkeypatch):
    from zhiwang.settings import get_settings

    assert parse_location(None, tmp_path) == WarehouseLocation(scheme="file", path=str(tmp_path))
    assert parse_location("s3://zw-bucket/a/b/", tmp_path) == WarehouseLocation(scheme="s3", bucket="zw-bucket", prefix="a/b")
    assert parse_location("s3://zw-bucket", tmp_path).uri == "s3://zw-bucket"
    assert parse_location(f"file://{tmp_path}/w", tmp_path).path == str(tmp_path / "w")
    monkeypatch.delenv("ZHIWANG_WAREHOUSE_URI", raising=False)
    assert get_settings(tmp_path, tmp_path).warehouse_uri is None
    assert storage_for(get_settings(tmp_path, tmp_path)).uri("golden/person") == str(tmp_path / "golden" / "person")
    monkeypatch.setenv("ZHIWANG_WAREHOUSE_URI", "ftp://x")
    with pytest.raises(ConfigError, match="'ftp' is not supported"):
        storage_for(get_settings(tmp_path, tmp_path))


# ---------------------------------------------------------------------------------------------------------
# against a real S3 server


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server in its own process (deltalake's blocking calls hold the GIL, so a server thread in
    this process could not answer them)."""
    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/moto-api/", timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto S3 server did not start (exit code {proc.poll()})") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture()
def s3wh(s3_endpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Settings of a fresh home whose warehouse is s3://<new bucket>/zhiwang on the moto server."""
    import boto3

    from warehouse.synthetic import synthetic_catalog, write_catalog
    from zhiwang.settings import get_settings

    # moto accepts any credentials: these are placeholders, not secrets
    env = {"AWS_ENDPOINT_URL": s3_endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    bucket = f"zw-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    home, catalog_dir = tmp_path / "home", tmp_path / "catalog"
    home.mkdir()
    write_catalog(synthetic_catalog(), catalog_dir)
    monkeypatch.setenv("ZHIWANG_HOME", str(home))
    monkeypatch.setenv("ZHIWANG_CATALOG", str(catalog_dir))
    monkeypatch.setenv("ZHIWANG_WAREHOUSE_URI", f"s3://{bucket}/zhiwang")
    settings = get_settings()
    assert settings.warehouse_uri == f"s3://{bucket}/zhiwang"
    return settings


def _keys(settings, prefix: str) -> list[str]:
    import boto3

    storage = storage_for(settings)
    assert isinstance(storage, ObjectStorage)
    client = boto3.client("s3", region_name="us-east-1")
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=storage.location.bucket, Prefix=f"zhiwang/{prefix}")
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def _sorted(table: pa.Table) -> pa.Table:
    return table.sort_by("golden_id")


@pytest.mark.services
def test_publish_time_travel_mirrors_and_an_incremental_second_release_on_s3(s3wh, catalog, tables):
    from deltalake import DeltaTable

    from warehouse.mirror import mirror_release
    from warehouse.registry import current_release, get_release, list_releases, read_table, verify_release
    from warehouse.release import publish_release
    from warehouse.schema import conform
    from warehouse.synthetic import change_persons

    first = publish_release(s3wh, catalog, tables)
    assert first.number == 1 and current_release(s3wh) == first
    # nothing of the warehouse lands in the data home: only this machine's publish lock
    assert not (s3wh.home / "golden").exists() and not (s3wh.home / "mirrors").exists()
    assert "zhiwang/golden/_registry/releases/1.json" in _keys(s3wh, "golden/_registry/")
    assert any(k.startswith("zhiwang/golden/person/_delta_log/") for k in _keys(s3wh, "golden/person/"))
    expected_first = _sorted(conform("person", tables["person"], release=1))
    assert _sorted(read_table(s3wh, "person")).equals(expected_first)
    assert verify_release(s3wh, 1) == []

    storage = storage_for(s3wh)
    for code in catalog.districts:
        record = mirror_release(s3wh, code)
        assert record is not None and record["release"] == 1
        mirror = DeltaTable(storage.uri(f"mirrors/{code}/person"), storage_options=storage.storage_options).to_pyarrow_table()
        assert mirror.num_rows == record["tables"]["person"]["rows"] > 0
        assert set(mirror.column("district_code").to_pylist()) == {code}
        assert "provenance" not in mirror.column_names

    changed, ids = change_persons(tables, 0.01)
    second = publish_release(s3wh, catalog, changed)
    assert [r.number for r in list_releases(s3wh)] == [1, 2]
    # incremental: untouched tables make no commit, and the person commit's change feed holds only the changed rows
    assert second.tables["building"].version == first.tables["building"].version
    v1, v2 = first.tables["person"].version, second.tables["person"].version
    person = DeltaTable(storage.uri("golden/person"), storage_options=storage.storage_options)
    cdf = pa.table(person.load_cdf(starting_version=v1 + 1, ending_version=v2).read_all())
    assert sorted(set(cdf.column("golden_id").to_pylist())) == sorted(ids)
    assert cdf.num_rows == 2 * len(ids)
    # an unchanged table keeps its files (and their hashes are reused, not downloaded again)
    assert second.tables["building"].files == first.tables["building"].files
    assert verify_release(s3wh, 2) == []
    # time travel: release 1 still reads as published
    assert _sorted(read_table(s3wh, "person", release=1)).equals(expected_first)
    now = read_table(s3wh, "person", columns=["golden_id", "residence_address"]).filter(pc.is_in(pc.field("golden_id"), pa.array(ids)))
    want = changed["person"].filter(pc.is_in(changed["person"].column("golden_id"), pa.array(ids)))
    assert dict(zip(*now.to_pydict().values(), strict=True)) == dict(
        zip(want.column("golden_id").to_pylist(), want.column("residence_address").to_pylist(), strict=True))
    assert get_release(s3wh, 1).tables["person"].rows == tables["person"].num_rows
    assert {mirror_release(s3wh, code)["release"] for code in catalog.districts} == {2}


@pytest.mark.services
def test_the_registry_on_s3_refuses_a_duplicate_release_even_from_another_publisher(s3wh, catalog, tables, monkeypatch):
    import warehouse.release as release_mod
    from warehouse.registry import current_release, get_release, record_release
    from warehouse.synthetic import change_persons

    first = release_mod.publish_release(s3wh, catalog, tables, build_mirrors=False)
    with pytest.raises(UserError, match="Release 1 already exists at s3://.*immutable"):
        record_release(s3wh, first)
    # Another machine records release 2 while this publisher is between its table writes and its record:
    # the conditional put lets only one of them own number 2, and the loser's commits belong to no release.
    other = ObjectStorage(storage_for(s3wh).location)
    planted = {**first.to_json(), "number": 2, "note": "recorded elsewhere"}

    def race(step: str) -> None:
        if step == "before_record":
            other.put_json_once("golden/_registry/releases/2.json", planted)

    monkeypatch.setattr(release_mod, "_checkpoint_hook", race)
    changed, _ = change_persons(tables, 0.02)
    with pytest.raises(UserError, match="Release 2 already exists"):
        release_mod.publish_release(s3wh, catalog, changed, build_mirrors=False)
    assert current_release(s3wh).note == "recorded elsewhere"
    assert get_release(s3wh, 1) == first
    with pytest.raises(FileExistsError):
        other.put_json_once("golden/_registry/releases/1.json", planted)
    assert get_release(s3wh, 1) == first  # untouched by the refused write


@pytest.mark.services
def test_sharing_serves_mirrors_from_s3_and_backup_says_it_is_local_only(s3wh, catalog, tables, tmp_path):
    import delta_sharing

    from tests.warehouse.conftest import Server, make_profile
    from warehouse.backup import create_backup, restore_backup
    from warehouse.mirror import mirror_release
    from warehouse.pull import pull
    from warehouse.release import publish_release
    from warehouse.synthetic import change_persons

    publish_release(s3wh, catalog, tables)
    changed, ids = change_persons(tables, 0.01)
    person = tables["person"].to_pandas().set_index("golden_id")
    district = person.loc[ids[0], "district_code"]
    in_district = [i for i in ids if person.loc[i, "district_code"] == district]
    with Server(s3wh) as server:
        profile, _ = make_profile(s3wh, district, server.url, tmp_path / "d.share")
        frame = delta_sharing.load_as_pandas(f"{profile}#district_{district}.golden.person")
        assert len(frame) == mirror_release(s3wh, district)["tables"]["person"]["rows"]
        assert set(frame["district_code"]) == {district}
        dest = tmp_path / "district.duckdb"
        assert pull(profile, dest).tables["person"]["mode"] == "full"
        publish_release(s3wh, catalog, changed)
        second = pull(profile, dest)
        assert second.release == 2 and second.tables["person"]["mode"] == "incremental"
        assert second.tables["person"]["fetched_rows"] == 2 * len(in_district)  # change feed files only
    with pytest.raises(ConfigError, match="backup create.*local warehouse only.*s3://"):
        create_backup(s3wh, tmp_path / "backup")
    with pytest.raises(ConfigError, match="backup restore.*local warehouse only"):
        restore_backup(s3wh, tmp_path / "backup")
