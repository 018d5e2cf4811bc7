"""The warehouse commands end to end: publish, release, golden, mirror, audit, backup."""

from __future__ import annotations

import json
import os
import stat

import duckdb
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tests.warehouse.conftest import Server
from warehouse.synthetic import change_persons
from zhiwang.cli import app
from zhiwang.settings import get_settings

runner = CliRunner()


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def _resolve(home, tables) -> None:
    folder = home / "resolved"
    folder.mkdir(exist_ok=True)
    for name, table in tables.items():
        pq.write_table(table, folder / f"{name}.parquet")


@pytest.mark.slow
def test_publish_release_golden_commands(wh, tables):
    run("publish", "--from", str(wh.home / "resolved"), code=2)  # nothing handed over yet: a plain-words error
    _resolve(wh.home, tables)
    first = json.loads(run("publish", "--from", str(wh.home / "resolved"), "--json", "--note", "first"))
    assert first["release"] == 1 and first["tables"]["person"]["rows"] == tables["person"].num_rows
    changed, ids = change_persons(tables, 0.01)
    _resolve(wh.home, changed)
    run("publish", "--from", str(wh.home / "resolved"))
    listing = json.loads(run("release", "list", "--json"))
    assert [r["release"] for r in listing] == [1, 2] and listing[0]["note"] == "first"
    diff = json.loads(run("release", "diff", "1", "2", "--json"))
    assert diff["entities"]["person"]["counts"]["updated"] == len(ids)
    assert "updated  " + sorted(ids)[0] in run("release", "diff", "1", "2")
    shown = json.loads(run("golden", "show", ids[0], "--release", "1", "--json"))
    assert shown["record"]["golden_id"] == ids[0] and shown["release"] == 1
    history = json.loads(run("golden", "history", ids[0], "--json"))
    assert [h["event"] for h in history] == ["appeared", "changed"]
    assert list(history[1]["changes"]) == ["residence_address"]
    assert "No release 9" in run("golden", "show", ids[0], "--release", "9", code=2)
    assert "not a golden ID" in run("golden", "show", "X1", code=2)
    rolled = json.loads(run("release", "rollback", "1", "--json"))
    assert rolled["release"] == 3 and rolled["rollback_of"] == 1
    assert "OK" in run("release", "verify")
    mirrors = json.loads(run("mirror", "build", "--json"))
    assert {m["release"] for m in mirrors.values()} == {3}


@pytest.mark.slow
def test_token_pull_audit_and_backup(wh, tables, tmp_path):
    _resolve(wh.home, tables)
    run("publish", "--from", str(wh.home / "resolved"))
    profile = tmp_path / "district.share"
    run("mirror", "token", "create", "--district", "999", "--out", str(profile), code=2)
    with Server(wh) as server:
        out = run("mirror", "token", "create", "--district", "440305", "--out", str(profile), "--server-url", server.url, "--expires", "7")
        data = json.loads(profile.read_text())
        assert data["endpoint"] == f"{server.url}/delta-sharing" and data["shareCredentialsVersion"] == 1
        assert data["bearerToken"] in out and data["expirationTime"].endswith("Z")
        assert stat.S_IMODE(os.stat(profile).st_mode) == 0o600
        assert data["bearerToken"] not in (wh.security / "tokens.json").read_text()  # stored hashed
        assert data["bearerToken"] not in run("mirror", "token", "list")
        pulled = json.loads(run("mirror", "pull", "--profile", str(profile), "--dest", str(tmp_path / "a.duckdb"), "--json"))
    assert pulled["release"] == 1 and pulled["tables"]["person"]["mode"] == "full"

    assert "OK" in run("audit", "verify")
    log = wh.security / "audit.jsonl"
    original = log.read_bytes()
    for position in (len(original) // 2, len(original) - 5):  # one byte in the middle, one in the last hash
        damaged = bytearray(original)
        damaged[position] = ord("0") if damaged[position] != ord("0") else ord("1")
        log.write_bytes(bytes(damaged))
        assert "was changed" in run("audit", "verify", code=1)
    log.write_bytes(original)
    assert "OK" in run("audit", "verify")

    backup = tmp_path / "backup"
    run("backup", "create", str(backup))
    run("backup", "create", str(backup), code=2)  # never into a non-empty directory
    restored = get_settings(tmp_path / "restored", wh.catalog_dir)
    run("backup", "restore", str(backup), "--home", str(restored.home))
    assert run("release", "list", "--json", "--home", str(restored.home)) == run("release", "list", "--json")
    assert "OK" in run("release", "verify", "--home", str(restored.home))
    with Server(restored) as server:  # same token, same releases, same rows
        data["endpoint"] = f"{server.url}/delta-sharing"
        profile.write_text(json.dumps(data))
        again = json.loads(run("mirror", "pull", "--profile", str(profile), "--dest", str(tmp_path / "b.duckdb"), "--json"))
    assert again == pulled
    tables_a, tables_b = (duckdb.connect(str(tmp_path / f"{n}.duckdb")) for n in "ab")
    try:
        query = "SELECT * FROM person ORDER BY golden_id"
        assert tables_a.sql(query).fetchall() == tables_b.sql(query).fetchall()
    finally:
        tables_a.close(), tables_b.close()
    first_file = next(p for p in (backup / "golden" / "person").glob("*.parquet"))
    first_file.write_bytes(first_file.read_bytes()[:-1])
    assert "damaged" in run("backup", "restore", str(backup), "--home", str(tmp_path / "other"), code=2)


@pytest.mark.parametrize("args", [["release", "diff", "1", "2"], ["release", "list"], ["golden", "history", "P1"]])
def test_commands_on_an_empty_home_explain_themselves(wh, args):
    output = run(*args, code=0 if args == ["release", "list"] else 2)
    assert "publish" in output or "no release" in output.lower()


@pytest.mark.slow
def test_mirror_serve_runs_the_server_on_loopback(wh):
    import socket
    import subprocess
    import sys
    import time

    import requests

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "zhiwang", "mirror", "serve", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/delta-sharing/shares", timeout=2)
                break
            except requests.ConnectionError:
                assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert response.status_code == 401 and response.json()["errorCode"] == "UNAUTHENTICATED"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert "OK: 1 audit entries" in run("audit", "verify")
