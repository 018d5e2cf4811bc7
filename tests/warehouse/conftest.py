"""Warehouse fixtures: a data home with a synthetic catalog on disk, synthetic golden tables, a published
release, and a real Delta Sharing server on 127.0.0.1 (uvicorn in a thread)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from warehouse.synthetic import synthetic_catalog, synthetic_tables, write_catalog

PERSONS = 600


@pytest.fixture()
def wh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Settings of a fresh home whose catalog directory holds the synthetic catalog."""
    from zhiwang.settings import get_settings

    home, catalog_dir = tmp_path / "home", tmp_path / "catalog"
    home.mkdir()
    write_catalog(synthetic_catalog(), catalog_dir)
    monkeypatch.setenv("ZHIWANG_HOME", str(home))
    monkeypatch.setenv("ZHIWANG_CATALOG", str(catalog_dir))
    return get_settings(home, catalog_dir)


@pytest.fixture()
def catalog():
    return synthetic_catalog()


@pytest.fixture(scope="session")
def tables() -> dict[str, pa.Table]:
    return synthetic_tables(PERSONS, seed=7)


@pytest.fixture()
def published(wh, catalog, tables):
    """Release 1 published with mirrors built."""
    from warehouse.release import publish_release

    return publish_release(wh, catalog, tables)


class Server:
    def __init__(self, settings, url_ttl_seconds: int = 900):
        import uvicorn

        from warehouse.sharing.server import create_app

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(settings, url_ttl_seconds), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("sharing server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture()
def server(wh) -> Iterator[Server]:
    with Server(wh) as srv:
        yield srv


def make_profile(settings, district: str, server_url: str, path: Path) -> tuple[Path, str]:
    from warehouse.sharing.tokens import create_token

    token, _ = create_token(settings, district, 1)
    path.write_text(json.dumps({"shareCredentialsVersion": 1, "endpoint": f"{server_url}/delta-sharing", "bearerToken": token}))
    return path, token
