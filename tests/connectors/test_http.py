"""The http connector against a real HTTP server on 127.0.0.1 (stdlib, in a thread)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pyarrow.parquet as pq
import pytest

from connectors.base import ConnectorContext, Window
from connectors.http import HttpConnector, HttpSourceConfig
from connectors.registry import parse_source
from connectors.state import StateStore
from connectors.testing import ConnectorContract, contract_resource
from zhiwang.errors import ConfigError, RetriableError, UserError

TOKEN = "Bearer t0ken-xyz"
NAMES = ["王小明", "李华", "欧阳娜娜", "张三丰", "赵敏", "周芷若", "令狐冲"]
RECORDS = [
    {"id": f"P{i:03d}", "姓名": name, "年龄": 20 + i, "在职": i % 2 == 0, "分数": i + 0.5,
     "地址": {"区": "福田区", "门牌": i}, "标签": ["居民", f"网格{i}"], "备注": None}
    for i, name in enumerate(NAMES)
]
EXPECTED = [
    {"id": f"P{i:03d}", "姓名": name, "年龄": str(20 + i), "在职": "true" if i % 2 == 0 else "false", "分数": f"{i}.5",
     "地址": f'{{"区": "福田区", "门牌": {i}}}', "标签": f'["居民", "网格{i}"]', "备注": None}
    for i, name in enumerate(NAMES)
]


class Api(BaseHTTPRequestHandler):
    """A paged JSON API with a few misbehaving routes; every request is recorded on the server."""

    server: ApiServer

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        self.handle_api(parts.path, dict(parse_qsl(parts.query)))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.handle_api(urlsplit(self.path).path, json.loads(self.rfile.read(length) or b"{}"))

    def send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def handle_api(self, path: str, args: dict[str, Any]) -> None:
        self.server.calls.append((self.command, path, args))
        if self.headers.get("Authorization") != TOKEN:
            return self.send(401, {"error": "invalid or missing token"})
        size = int(args.get("page_size") or args.get("limit") or 100)
        if path in ("/api/page", "/api/post"):
            start = (int(args["page"]) - 1) * size
            return self.send(200, {"code": 0, "data": {"items": RECORDS[start:start + size], "total": len(RECORDS)}})
        if path == "/api/offset":
            start = int(args["offset"])
            return self.send(200, {"results": RECORDS[start:start + size]})
        if path == "/api/cursor":
            start = int(args.get("cursor", "c0")[1:])
            more = start + size < len(RECORDS)
            return self.send(200, {"items": RECORDS[start:start + size], "meta": {"next": f"c{start + size}" if more else None}})
        if path == "/api/flaky":
            self.server.flaky += 1
            if self.server.flaky == 1:
                return self.send(429, {"error": "slow down"}, {"Retry-After": "1"})
            if self.server.flaky == 2:
                return self.send(503, "<html>maintenance</html>")
            return self.send(200, RECORDS[:2])
        if path == "/api/down":
            return self.send(503, {"error": "down"})
        if path == "/api/same-cursor":
            return self.send(200, {"items": RECORDS[:1], "next": "abc"})
        if path == "/api/endless":
            return self.send(200, RECORDS[:size])
        if path == "/api/drift":  # the second page brings a key the first did not have
            page = int(args["page"])
            return self.send(200, [[{"id": "1"}], [{"id": "2", "新字段": "x"}], []][page - 1])
        if path == "/api/echo":
            return self.send(200, {"data": [args]})
        if path == "/api/text":
            return self.send(200, "not json at all")
        return self.send(404, {"error": f"no route {path}"})


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Api)
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.flaky = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api"


@pytest.fixture()
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiServer]:
    monkeypatch.setenv("ZW_TEST_API_TOKEN", TOKEN)
    server = ApiServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def make(tmp_path: Path, **options: Any) -> HttpConnector:
    from zhiwang.settings import get_settings

    options = {"connector": "http", "auth_secret_env": "ZW_TEST_API_TOKEN", "backoff_seconds": 0.01, **options}
    resource = contract_resource(options, list(EXPECTED[0]), "http_people")
    settings = get_settings(tmp_path / "home", tmp_path / "catalog")
    connector = HttpConnector(parse_source(resource), ConnectorContext(resource, settings, StateStore(settings.state_db)))
    return connector


def rows(connector: HttpConnector) -> list[dict[str, Any]]:
    return [row for batch in connector.read(Window()) for row in batch.to_pylist()]


class HttpContract(ConnectorContract):
    connector_name = "http"

    @pytest.fixture()
    def expected_rows(self) -> list[dict[str, str | None]]:
        return EXPECTED

    @pytest.fixture()
    def secret_values(self) -> list[str]:
        return ["t0ken-xyz"]


class TestPagedByPageNumber(HttpContract):
    @pytest.fixture()
    def source_options(self, api: ApiServer) -> dict[str, Any]:
        return {"connector": "http", "url": f"{api.base}/page", "records_path": "data.items", "pagination": "page",
                "page_size": 3, "auth_secret_env": "ZW_TEST_API_TOKEN"}


class TestPagedByOffset(HttpContract):
    @pytest.fixture()
    def source_options(self, api: ApiServer) -> dict[str, Any]:
        return {"connector": "http", "url": f"{api.base}/offset", "records_path": "results", "pagination": "offset",
                "offset_param": "offset", "size_param": "limit", "page_size": 2, "auth_secret_env": "ZW_TEST_API_TOKEN"}


class TestPagedByCursor(HttpContract):
    @pytest.fixture()
    def source_options(self, api: ApiServer) -> dict[str, Any]:
        return {"connector": "http", "url": f"{api.base}/cursor", "records_path": "items", "pagination": "cursor",
                "next_cursor_path": "meta.next", "size_param": "limit", "page_size": 4, "auth_secret_env": "ZW_TEST_API_TOKEN"}


def test_page_requests_walk_until_a_short_page(api: ApiServer, tmp_path: Path) -> None:
    connector = make(tmp_path, url=f"{api.base}/page", records_path="data.items", pagination="page", page_size=3)
    assert rows(connector) == EXPECTED
    assert [(c[2]["page"], c[2]["page_size"]) for c in api.calls] == [("1", "3"), ("2", "3"), ("3", "3")]


def test_cursor_pages_follow_next_cursor(api: ApiServer, tmp_path: Path) -> None:
    connector = make(tmp_path, url=f"{api.base}/cursor", records_path="items", pagination="cursor",
                     next_cursor_path="meta.next", size_param="limit", page_size=3)
    assert [r["id"] for r in rows(connector)] == [r["id"] for r in EXPECTED]
    assert [c[2].get("cursor") for c in api.calls] == [None, "c3", "c6"]


def test_post_sends_paging_in_the_json_body(api: ApiServer, tmp_path: Path) -> None:
    connector = make(tmp_path, url=f"{api.base}/post", method="POST", params={"区划": "440304"},
                     records_path="data.items", pagination="page", page_size=5)
    assert len(rows(connector)) == 7
    assert api.calls[0] == ("POST", "/api/post", {"区划": "440304", "page": 1, "page_size": 5})


def test_429_and_503_are_retried_honouring_retry_after(api: ApiServer, tmp_path: Path) -> None:
    connector = make(tmp_path, url=f"{api.base}/flaky", backoff_seconds=0.25)
    waits: list[float] = []
    connector.sleep = waits.append
    assert [r["id"] for r in rows(connector)] == ["P000", "P001"]
    assert len(api.calls) == 3 and connector.retries == 2
    assert waits == [1.0, 0.5]  # Retry-After: 1 for the 429; then exponential backoff 0.25 × 2¹ for the 503


def test_retries_give_up_with_a_retriable_error(api: ApiServer, tmp_path: Path) -> None:
    connector = make(tmp_path, url=f"{api.base}/down", max_retries=2)
    connector.sleep = lambda seconds: None
    with pytest.raises(RetriableError, match=r"/api/down .*gave up after 3 attempt\(s\); last answer: HTTP 503"):
        rows(connector)
    assert len(api.calls) == 3


def test_unreachable_server_is_retriable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("ZW_TEST_API_TOKEN", TOKEN)
    connector = make(tmp_path, url=f"http://127.0.0.1:{port}/x", max_retries=1)
    connector.sleep = lambda seconds: None
    with pytest.raises(RetriableError, match="ConnectError"):
        rows(connector)


def test_401_is_a_user_error_naming_url_status_and_body_not_the_secret(api: ApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZW_TEST_API_TOKEN", "Bearer wrong-s3cret")
    connector = make(tmp_path, url=f"{api.base}/page?appkey=k3y", records_path="data.items", pagination="page")
    with pytest.raises(UserError, match=r"GET http://127\.0\.0\.1:\d+/api/page \(page=1\) answered 401 Unauthorized: .*invalid or missing token.*ZW_TEST_API_TOKEN") as info:
        rows(connector)
    assert "wrong-s3cret" not in str(info.value) and "k3y" not in str(info.value)
    assert len(api.calls) == 1  # a 4xx is not retried


def test_query_string_in_the_url_is_kept(api: ApiServer, tmp_path: Path) -> None:
    connector = make(tmp_path, url=f"{api.base}/echo?appkey=abc", params={"区划": "440304"}, records_path="data")
    assert rows(connector)[0]["appkey"] == "abc"
    assert api.calls[0][2] == {"appkey": "abc", "区划": "440304"}


def test_declared_columns_missing_from_the_api_land_empty_and_late_keys_are_warned(
    api: ApiServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    connector = make(tmp_path, url=f"{api.base}/drift", pagination="page", page_size=1)
    landed = rows(connector)
    assert [r["id"] for r in landed] == ["1", "2"]
    assert list(landed[0]) == list(EXPECTED[0]) and landed[1]["姓名"] is None
    assert "keys 新字段 first appear after the first page" in caplog.text


def test_missing_secret_variable_is_a_config_error(api: ApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZW_TEST_API_TOKEN")
    with pytest.raises(ConfigError, match="environment variable ZW_TEST_API_TOKEN is not set"):
        rows(make(tmp_path, url=f"{api.base}/page"))


def test_wrong_records_path_names_the_keys_found(api: ApiServer, tmp_path: Path) -> None:
    connector = make(tmp_path, url=f"{api.base}/page", records_path="data.rows", pagination="page")
    with pytest.raises(UserError, match=r"records_path = 'data.rows' is missing .*keys there: code, data"):
        rows(connector)


def test_not_json_is_a_user_error(api: ApiServer, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not with JSON: 'not json at all'"):
        rows(make(tmp_path, url=f"{api.base}/text"))


def test_max_pages_stops_an_endless_api(api: ApiServer, tmp_path: Path) -> None:
    connector = make(tmp_path, url=f"{api.base}/endless", pagination="page", page_size=2, max_pages=4)
    with pytest.raises(UserError, match="max_pages = 4"):
        rows(connector)
    assert len(api.calls) == 4


def test_a_repeated_cursor_is_refused(api: ApiServer, tmp_path: Path) -> None:
    connector = make(tmp_path, url=f"{api.base}/same-cursor", records_path="items", pagination="cursor", next_cursor_path="next")
    with pytest.raises(UserError, match="same cursor 'abc' twice"):
        rows(connector)


def test_empty_pull_lands_the_declared_columns(api: ApiServer, tmp_path: Path) -> None:
    connector = make(tmp_path, url=f"{api.base}/page", records_path="data.items", pagination="page", first_page=10)
    (delivery,) = connector.deliveries(Window())
    landed = delivery.land(tmp_path / "landing", "empty")
    table = pq.read_table(landed.path)
    assert table.num_rows == 0 and table.column_names == list(EXPECTED[0])


def test_config_rules_name_both_fields() -> None:
    with pytest.raises(ValueError, match="pagination is cursor but next_cursor_path is missing"):
        HttpSourceConfig(url="http://x/y", pagination="cursor")
    with pytest.raises(ValueError, match="must not contain a user or password"):
        HttpSourceConfig(url="https://user:pw@x/y")
    with pytest.raises(ValueError, match="must start with http"):
        HttpSourceConfig(url="ftp://x/y")


def test_404_names_the_route_and_says_what_to_fix(api: ApiServer, tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"answered 404 Not Found: .*no route /api/nowhere.*Fix: check source.url"):
        rows(make(tmp_path, url=f"{api.base}/nowhere"))
