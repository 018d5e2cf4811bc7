"""`zhiwang airflow up` for real: four services on 127.0.0.1, a steward logs in with headless Chromium and
sees the zhiwang DAGs, and `down` leaves nothing behind. One start-up shared by the module (it takes ~1 min)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
ZHIWANG = Path(sys.executable).parent / "zhiwang"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
RESOURCES = ["minzheng_a", "gongan_b", "shichang_c"]

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(home: Path, catalog: Path) -> dict[str, str]:
    """The user's environment without whatever Airflow settings this test session set for itself."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(ZHIWANG_HOME=str(home), ZHIWANG_CATALOG=str(catalog), ZHIWANG_AIRFLOW_ADMIN_PASSWORD="steward-pass-1")
    return env


def zhiwang(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ZHIWANG), *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def airflow_up() -> Iterator[dict]:
    from tests.dags.catalog_factory import resource, write_catalog

    tmp = Path(tempfile.mkdtemp(prefix="zhiwang-airflow-up-"))
    catalog = tmp / "catalog"
    write_catalog(catalog, 0)
    import yaml

    for i, rid in enumerate(RESOURCES):
        (catalog / "resources" / f"{rid}.yaml").write_text(yaml.safe_dump(resource(rid, i), allow_unicode=True),
                                                           encoding="utf-8")
    env = clean_env(tmp / "home", catalog)
    port = free_port()
    result = zhiwang("airflow", "up", "--port", str(port), "--json", env=env)
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        login = json.loads(result.stdout.strip().splitlines()[-1])
        yield {"login": login, "env": env, "home": tmp / "home", "port": port}
    finally:
        zhiwang("airflow", "down", env=env, timeout=120)
        shutil.rmtree(tmp, ignore_errors=True)


def token(login: dict) -> str:
    response = httpx.post(f"{login['url']}/auth/token", json={"username": login["user"], "password": login["password"]})
    response.raise_for_status()
    return response.json()["access_token"]


def wait_for_dags(login: dict, timeout: float = 180) -> set[str]:
    """The dag-processor parses in its own time: wait until our DAGs are in the database."""
    headers = {"Authorization": f"Bearer {token(login)}"}
    deadline = time.monotonic() + timeout
    while True:
        dags = httpx.get(f"{login['url']}/api/v2/dags", params={"limit": 100}, headers=headers).json()["dags"]
        found = {d["dag_id"] for d in dags}
        if {f"ingest_{r}" for r in RESOURCES} <= found or time.monotonic() > deadline:
            return found
        time.sleep(2)


def test_up_serves_on_loopback_only_with_the_chosen_login(airflow_up: dict) -> None:
    import psutil

    login = airflow_up["login"]
    assert login["url"] == f"http://127.0.0.1:{airflow_up['port']}"
    assert (login["user"], login["password"]) == ("admin", "steward-pass-1")
    status = json.loads(zhiwang("airflow", "status", "--json", env=airflow_up["env"]).stdout)
    assert set(status["services"]) == {"api-server", "scheduler", "dag-processor", "triggerer"}
    assert all(s["running"] for s in status["services"].values()) and status["api_healthy"]
    groups = {s["pid"] for s in status["services"].values()}
    listening = [c for c in psutil.net_connections("inet") if c.status == psutil.CONN_LISTEN and c.pid
                 and _pgid(c.pid) in groups]
    assert listening, "the api-server should listen"
    assert {c.laddr.ip for c in listening} == {"127.0.0.1"}, listening
    with pytest.raises(httpx.HTTPStatusError):
        token({**login, "password": "wrong"})
    again = zhiwang("airflow", "up", "--port", str(airflow_up["port"]), env=airflow_up["env"])
    assert again.returncode == 2 and "already running" in again.stderr
    assert {f"ingest_{r}" for r in RESOURCES} | {"quality_scorecard"} <= wait_for_dags(login)


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


@pytest.mark.browser
def test_steward_logs_in_with_chromium_and_sees_the_dags(airflow_up: dict, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is required: apt-get install -y chromium (make test installs it)")
    login = airflow_up["login"]
    wait_for_dags(login)
    with Chromium(tmp_path / "profile") as browser:
        # without a login the UI sends the browser to the login page and shows no DAG
        browser.call("Page.navigate", url=f"{login['url']}/dags")
        browser.wait_for(lambda: "/login" in browser.evaluate("location.href"), timeout=60)
        assert "ingest_" not in browser.evaluate("document.body.innerText")
        # the UI's own login form posts to /auth/token and keeps the JWT in the `_token` cookie
        browser.call("Network.enable")
        browser.call("Network.setCookie", name="_token", value=token(login), url=login["url"], path="/")
        browser.call("Page.navigate", url=f"{login['url']}/dags")
        text = browser.wait_for_text(lambda t: all(f"ingest_{r}" in t for r in RESOURCES), timeout=90)
    assert "quality_scorecard" in text


def test_the_scheduler_runs_an_ingest_task_through_the_execution_api(airflow_up: dict) -> None:
    """A real task process authenticates to the API server with the shared secrets and stages a file."""
    from connectors.state import StateStore

    login, rid = airflow_up["login"], RESOURCES[0]
    inbox = airflow_up["home"] / "inbox" / rid
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "delivery.csv").write_text("编号,姓名,备注\nA1,张伟,\nA2,王芳,\n", encoding="utf-8")
    wait_for_dags(login)
    api = httpx.Client(base_url=f"{login['url']}/api/v2", headers={"Authorization": f"Bearer {token(login)}"},
                       timeout=30)
    api.patch(f"/dags/ingest_{rid}", json={"is_paused": False}).raise_for_status()
    deadline = time.monotonic() + 240
    states: list[str] = []
    while time.monotonic() < deadline:
        runs = api.get(f"/dags/ingest_{rid}/dagRuns").json()["dag_runs"]
        states = [r["state"] for r in runs]
        if "success" in states or "failed" in states:
            break
        time.sleep(3)
    api.patch(f"/dags/ingest_{rid}", json={"is_paused": True})
    assert "success" in states, states
    (record,) = StateStore(airflow_up["home"] / "state.sqlite").deliveries(rid)
    assert (record.file, record.status, record.rows_staged) == ("delivery.csv", "staged", 2)


def test_down_stops_everything(airflow_up: dict) -> None:
    import psutil

    status = json.loads(zhiwang("airflow", "status", "--json", env=airflow_up["env"]).stdout)
    groups = {s["pid"] for s in status["services"].values()}
    result = zhiwang("airflow", "down", "--json", env=airflow_up["env"], timeout=120)
    assert json.loads(result.stdout) == {"stopped": ["api-server", "dag-processor", "scheduler", "triggerer"]}
    left = [p.pid for p in psutil.process_iter() if _pgid(p.pid) in groups and p.status() != psutil.STATUS_ZOMBIE]
    assert left == []
    assert not (airflow_up["home"] / "airflow" / "pids.json").exists()
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{airflow_up['login']['url']}/api/v2/monitor/health", timeout=2)


class Chromium:
    """Headless Chromium driven over the DevTools protocol (websockets is already a dependency)."""

    def __init__(self, profile: Path) -> None:
        self.profile = profile
        self.next_id = 0

    def __enter__(self) -> Chromium:
        from websockets.sync.client import connect

        self.profile.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={self.profile}", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
             "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("Chromium did not open its DevTools port")
            time.sleep(0.2)
        port = int(port_file.read_text().split()[0])
        pages = [t for t in httpx.get(f"http://127.0.0.1:{port}/json/list").json() if t["type"] == "page"]
        self.connection = connect(pages[0]["webSocketDebuggerUrl"], max_size=None)
        self.ws = self.connection.__enter__()
        return self

    def call(self, method: str, **params: object) -> dict:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=30))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression: str) -> str:
        return self.call("Runtime.evaluate", expression=expression).get("result", {}).get("value") or ""

    def wait_for(self, ready, timeout: float) -> None:  # noqa: ANN001 - a predicate
        deadline = time.monotonic() + timeout
        while not ready():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out at {self.evaluate('location.href')}")
            time.sleep(0.5)

    def wait_for_text(self, ready, timeout: float) -> str:  # noqa: ANN001 - predicate on the page text
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.evaluate("document.body ? document.body.innerText : ''")
            if ready(text):
                return text
            time.sleep(1)
        raise AssertionError(f"the page never showed the DAGs; it showed:\n{text[:2000]}")

    def __exit__(self, *exc: object) -> None:
        try:
            self.connection.__exit__(None, None, None)
        finally:
            os.killpg(self.proc.pid, 15)
            self.proc.wait(timeout=30)
