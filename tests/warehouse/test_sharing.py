"""The real sharing server on 127.0.0.1, read with the official delta-sharing client."""

from __future__ import annotations

import json
import re

import delta_sharing
import duckdb
import pandas as pd
import pyarrow.compute as pc
import pytest
import requests
from deltalake import DeltaTable

from quality.quarantine import mask_value
from tests.warehouse.conftest import make_profile
from warehouse.pull import pull
from warehouse.release import publish_release
from warehouse.sharing.audit import AuditLog
from warehouse.sharing.tokens import revoke_token
from warehouse.synthetic import change_persons

A, B = "440304", "440305"  # A is cleared for conditional sharing, B is not


def _golden(tables, entity, district):
    t = tables[entity]
    return t.filter(pc.equal(t.column("district_code"), district)).to_pandas().set_index("golden_id").sort_index()


def _load(profile, district, table):
    return delta_sharing.load_as_pandas(f"{profile}#district_{district}.golden.{table}").set_index("golden_id").sort_index()


def test_isolation_masking_and_no_none_field(wh, tables, published, server, tmp_path):
    prof_a, token_a = make_profile(wh, A, server.url, tmp_path / "a.share")
    prof_b, _ = make_profile(wh, B, server.url, tmp_path / "b.share")
    client = delta_sharing.SharingClient(str(prof_a))
    assert [s.name for s in client.list_shares()] == [f"district_{A}"]
    assert {t.name for t in client.list_all_tables()} == {"person", "legal_entity", "building", "release"}

    pulled = {}
    for district, profile in ((A, prof_a), (B, prof_b)):
        for entity in ("person", "legal_entity", "building"):
            frame = _load(profile, district, entity)
            golden = _golden(tables, entity, district)
            assert list(frame.index) == list(golden.index)  # exactly the district's rows
            assert (frame["district_code"] == district).all()
            assert "provenance" not in frame.columns
            pulled[district, entity] = frame
    # conditional: clear for A, masked for B
    assert (pulled[A, "person"]["id_number"] == _golden(tables, "person", A)["id_number"]).all()
    b_ids = _golden(tables, "person", B)["id_number"]
    assert list(pulled[B, "person"]["id_number"]) == [mask_value(v) for v in b_ids]
    assert all(re.fullmatch(r"\d{6}\*{8}\d{4}", v) for v in pulled[B, "person"]["id_number"])
    assert (pulled[B, "legal_entity"]["legal_rep_id_number"] != _golden(tables, "legal_entity", B)["legal_rep_id_number"]).all()
    assert (pulled[A, "legal_entity"]["legal_rep_id_number"] == _golden(tables, "legal_entity", A)["legal_rep_id_number"]).all()
    # none: the column is not shared, and no phone number appears anywhere
    phones = set(tables["person"].column("phone").to_pylist()) | set(tables["legal_entity"].column("phone").to_pylist())
    for frame in pulled.values():
        assert "phone" not in frame.columns
        values = set(frame.astype(str).to_numpy().ravel()) | set(frame.index)
        assert not values & phones

    # A on B's share or table: 403, identical to a share that does not exist, naming nothing of B
    auth = {"Authorization": f"Bearer {token_a}"}
    base = f"{server.url}/delta-sharing/shares"
    denied = [
        requests.get(f"{base}/district_{B}/schemas/golden/tables", headers=auth, timeout=10),
        requests.post(f"{base}/district_{B}/schemas/golden/tables/person/query", json={}, headers=auth, timeout=10),
        requests.get(f"{base}/district_{B}/schemas/golden/tables/person/changes?startingVersion=0", headers=auth, timeout=10),
        requests.get(f"{base}/district_{B}/schemas/golden/tables/person/metadata", headers=auth, timeout=10),
        requests.get(f"{base}/district_999999/schemas/golden/tables", headers=auth, timeout=10),
    ]
    assert {r.status_code for r in denied} == {403}
    assert len({r.text for r in denied}) == 1 and B not in denied[0].text
    assert "delta-table-version" not in denied[1].headers
    with pytest.raises(requests.HTTPError, match="403"):
        delta_sharing.load_as_pandas(f"{prof_a}#district_{B}.golden.person")
    assert requests.get(f"{base}", timeout=10).status_code == 401


def test_versions_signed_urls_and_revocation(wh, published, server, tmp_path):
    _, token = make_profile(wh, A, server.url, tmp_path / "a.share")
    auth = {"Authorization": f"Bearer {token}"}
    table = f"{server.url}/delta-sharing/shares/district_{A}/schemas/golden/tables/person"
    assert requests.get(f"{table}/version", headers=auth, timeout=10).headers["delta-table-version"] == "0"
    lines = requests.post(f"{table}/query", json={"version": 0}, headers=auth, timeout=10).text.splitlines()
    assert list(json.loads(lines[0])) == ["protocol"] and "metaData" in lines[1]
    url = json.loads(lines[2])["file"]["url"]
    assert requests.get(url, timeout=10).status_code == 200
    assert requests.get(url, headers={"Range": "bytes=0-3"}, timeout=10).content == b"PAR1"
    tampered = [url.replace(f"/files/{A}/", f"/files/{B}/"), re.sub(r"sig=(\w)", lambda m: "sig=" + ("1" if m.group(1) == "0" else "0"), url), re.sub(r"exp=\d+", "exp=1", url)]
    assert [requests.get(u, timeout=10).status_code for u in tampered] == [403, 403, 403]
    assert requests.post(f"{table}/query", json={"version": 5}, headers=auth, timeout=10).status_code == 400
    revoke_token(wh, token.split(".")[1])
    assert requests.get(f"{table}/version", headers=auth, timeout=10).status_code == 401


def test_first_pull_full_then_incremental_transfers_only_changed_rows(wh, catalog, tables, published, server, tmp_path):
    changed, ids = change_persons(tables, 0.01)
    person = tables["person"].to_pandas().set_index("golden_id")
    district = person.loc[ids[0], "district_code"]
    in_district = [i for i in ids if person.loc[i, "district_code"] == district]
    profile, _ = make_profile(wh, district, server.url, tmp_path / "d.share")
    dest = tmp_path / "district.duckdb"

    first = pull(profile, dest)
    assert first.release == 1 and {t["mode"] for t in first.tables.values()} == {"full"}
    assert first.tables["person"]["fetched_rows"] == first.tables["person"]["rows"] == len(_golden(tables, "person", district))

    publish_release(wh, catalog, changed)
    log = AuditLog(wh.security)
    seen = len(log.entries())
    second = pull(profile, dest)
    assert second.release == 2
    assert second.tables["person"]["mode"] == "incremental"
    assert second.tables["person"]["fetched_rows"] == 2 * len(in_district)  # pre- and post-image of each changed row
    assert second.tables["person"]["fetched_rows"] < 0.05 * second.tables["person"]["rows"]
    assert second.tables["legal_entity"] == {"mode": "unchanged", "version": 0, "fetched_rows": 0, "rows": first.tables["legal_entity"]["rows"]}
    fetched = [e["path"] for e in log.entries()[seen:] if e["path"].startswith("/files/") and e["method"] == "GET"]
    assert any("/person/_change_data/" in p for p in fetched)
    assert all("/person/_change_data/" in p or p.startswith(f"/files/{district}/release/") for p in fetched)

    mirror = DeltaTable(str(wh.mirrors / district / "person")).to_pandas().sort_values("golden_id").reset_index(drop=True)
    con = duckdb.connect(str(dest))
    try:
        local = con.sql("SELECT * FROM person ORDER BY golden_id").df()
        state = con.sql("SELECT table_name, release, mode FROM _zhiwang_pull ORDER BY 1").fetchall()
        releases = con.sql("SELECT DISTINCT release FROM release ORDER BY 1").fetchall()
    finally:
        con.close()
    pd.testing.assert_frame_equal(local.astype(str), mirror[local.columns].astype(str))
    assert state == [("building", 2, "unchanged"), ("legal_entity", 2, "unchanged"), ("person", 2, "incremental")]
    assert releases == [(1,), (2,)]
    expected = changed["person"].to_pandas().set_index("golden_id").loc[in_district, "residence_address"]
    assert list(local.set_index("golden_id").loc[in_district, "residence_address"]) == list(expected)


def test_tokens_are_stored_hashed_and_expire(wh):
    from warehouse.sharing.tokens import AuthError, authenticate, create_token

    token, record = create_token(wh, A, 1)
    assert authenticate(wh, token).district == A
    stored = (wh.security / "tokens.json").read_text()
    assert token not in stored and record.hash in stored
    with pytest.raises(AuthError):
        authenticate(wh, token[:-1] + ("A" if token[-1] != "A" else "B"))
    (wh.security / "tokens.json").write_text(stored.replace(record.expires_at, "2020-01-01T00:00:00+00:00"))
    with pytest.raises(AuthError, match="invalid, expired or revoked"):
        authenticate(wh, token)


def test_pull_explains_a_dead_server_and_a_revoked_token(wh, published, server, tmp_path):
    from warehouse.pull import PullError

    profile, token = make_profile(wh, A, server.url, tmp_path / "a.share")
    revoke_token(wh, token.split(".")[1])
    with pytest.raises(PullError, match="invalid, expired or revoked"):
        pull(profile, tmp_path / "x.duckdb")
    dead, _ = make_profile(wh, A, "http://127.0.0.1:9", tmp_path / "dead.share")
    with pytest.raises(PullError, match="Cannot reach the sharing server"):
        pull(dead, tmp_path / "x.duckdb")
    with pytest.raises(PullError, match="does not exist"):
        pull(tmp_path / "missing.share", tmp_path / "x.duckdb")
