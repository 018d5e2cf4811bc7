"""Start, stop and inspect zhiwang's Airflow services: scheduler, dag-processor, triggerer, api-server.

Each runs in its own process group bound to loopback (no ``airflow standalone``: it binds the API to 0.0.0.0,
opens log servers on all interfaces and leaves children behind on SIGTERM). Pids live in
``<ZHIWANG_HOME>/airflow/pids.json`` with each process's start time, so ``down`` never signals a recycled pid.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from zhiwang.airflow_support.secrets import (
    ADMIN_USER,
    airflow_dir,
    ensure_admin_password,
    ensure_secrets,
    passwords_file,
)
from zhiwang.errors import ConfigError, RetriableError
from zhiwang.settings import REPO_ROOT, Settings

HOST = "127.0.0.1"
DEFAULT_PORT = 8080
# scheduler and triggerer would otherwise open log servers on all interfaces (8793/8794)
COMMANDS: dict[str, list[str]] = {
    "scheduler": ["scheduler", "--skip-serve-logs"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer", "--skip-serve-logs"],
}


@dataclass(frozen=True)
class Login:
    url: str
    user: str
    password: str
    password_file: Path
    logs: Path


def venv_bin() -> Path:
    """The directory of the running interpreter's ``airflow`` script (the venv's bin)."""
    return Path(sys.executable).parent


def airflow_env(settings: Settings, port: int | None = None, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment every Airflow process of this data home runs with.

    Values the operator set (``AIRFLOW__…`` variables, e.g. a PostgreSQL ``SQL_ALCHEMY_CONN``) are kept;
    the rest point into ``<ZHIWANG_HOME>/airflow``. The secrets come from ``secrets.env``.
    """
    env = dict(os.environ if base is None else base)
    state = airflow_dir(settings.home)
    state.mkdir(parents=True, exist_ok=True)
    port = port or int(env.get("AIRFLOW__API__PORT") or DEFAULT_PORT)
    defaults = {
        "GX_ANALYTICS_ENABLED": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{state / 'airflow.db'}",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(state / "logs"),
        "AIRFLOW__LOGGING__DAG_PROCESSOR_CHILD_PROCESS_LOG_DIRECTORY": str(state / "logs" / "dag_processor"),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file(settings.home)),
        **ensure_secrets(settings.home),
    }
    for key, value in defaults.items():
        if not env.get(key):
            env[key] = value
    _async_database_url(env)
    # the repository's airflow.cfg and DAGs, and the data home and catalog this command was given (--home wins
    # over a ZHIWANG_HOME in the environment, as everywhere in the CLI)
    env.update(AIRFLOW_HOME=str(REPO_ROOT), ZHIWANG_HOME=str(settings.home), ZHIWANG_CATALOG=str(settings.catalog_dir))
    env.pop("AIRFLOW_CONFIG", None)  # would point Airflow at another airflow.cfg than the repository's
    # the API's address is ours to decide: loopback, and the port the other parts must call back on
    env["AIRFLOW__API__HOST"] = HOST
    env["AIRFLOW__API__PORT"] = str(port)
    env["AIRFLOW__API__BASE_URL"] = f"http://{HOST}:{port}"
    env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"http://{HOST}:{port}/execution/"
    # Airflow starts parts of itself as `airflow` by name
    env["PATH"] = os.pathsep.join([str(venv_bin()), env.get("PATH", "")])
    return env


def _async_database_url(env: dict[str, str]) -> None:
    """Airflow also needs an async URL; for PostgreSQL it would derive ``postgresql+asyncpg``, which is not
    installed, while psycopg 3 (installed) is async itself."""
    url = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    scheme = url.split(":", 1)[0]
    if scheme in ("postgres", "postgresql", "postgresql+psycopg2"):
        raise ConfigError(f"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN uses {scheme}://, whose driver (psycopg2) is not "
                          "installed; write postgresql+psycopg://USER@HOST:PORT/DB instead.")
    if scheme == "postgresql+psycopg" and not env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"):
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] = url


def _pids_file(settings: Settings) -> Path:
    return airflow_dir(settings.home) / "pids.json"


def _read_pids(settings: Settings) -> dict[str, dict]:
    path = _pids_file(settings)
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return {}


def _alive(entry: dict) -> bool:
    import psutil

    try:
        proc = psutil.Process(entry["pid"])
        return abs(proc.create_time() - entry["started"]) < 1.0 and proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, KeyError):
        return False


def status(settings: Settings) -> dict[str, object]:
    """Which services run, and whether the API answers."""
    pids = _read_pids(settings)
    port = int(pids.get("api-server", {}).get("port", 0)) or None
    return {
        "services": {name: {"pid": entry["pid"], "running": _alive(entry)} for name, entry in pids.items()},
        "url": f"http://{HOST}:{port}" if port else None,
        "api_healthy": bool(port) and _healthy(port),
    }


def _healthy(port: int) -> bool:
    import httpx

    try:
        return httpx.get(f"http://{HOST}:{port}/api/v2/monitor/health", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def _start(name: str, args: list[str], env: dict[str, str], logs: Path) -> dict:
    import psutil

    logs.mkdir(parents=True, exist_ok=True)
    out = open(logs / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child, closed below
    try:
        proc = subprocess.Popen(
            [str(venv_bin() / "airflow"), *args], env=env, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,  # own process group: `down` stops its children too
        )
    finally:
        out.close()
    return {"pid": proc.pid, "started": psutil.Process(proc.pid).create_time(), "log": str(logs / f"{name}.log")}


def _log_tail(path: str, lines: int = 15) -> str:
    try:
        return "\n".join(Path(path).read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def migrate(env: dict[str, str], logs: Path) -> None:
    """Create or upgrade the metadata database (idempotent)."""
    logs.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([str(venv_bin() / "airflow"), "db", "migrate"], env=env, cwd=REPO_ROOT,
                            capture_output=True, text=True)
    (logs / "db-migrate.log").write_text(result.stdout + result.stderr, encoding="utf-8")
    if result.returncode != 0:
        raise ConfigError(f"`airflow db migrate` failed for {env['AIRFLOW__DATABASE__SQL_ALCHEMY_CONN'].split('@')[-1]}; "
                          f"see {logs / 'db-migrate.log'}:\n{result.stderr[-2000:]}")


def up(settings: Settings, port: int = DEFAULT_PORT, timeout: float = 180.0) -> Login:
    """Start the four services (after migrating the database) and wait until the API answers."""
    running = {name: e for name, e in _read_pids(settings).items() if _alive(e)}
    if running:
        raise ConfigError(f"Airflow is already running for {settings.home} ({', '.join(sorted(running))}); "
                          "run `zhiwang airflow down` first, or `zhiwang airflow status`.")
    if _healthy(port):
        raise ConfigError(f"Something already answers on {HOST}:{port}; stop it or choose another --port.")
    env = airflow_env(settings, port)
    password = ensure_admin_password(settings.home)
    logs = airflow_dir(settings.home) / "logs" / "services"
    migrate(env, logs)
    pids: dict[str, dict] = {}
    try:
        pids["api-server"] = {**_start("api-server", ["api-server", "-H", HOST, "-p", str(port)], env, logs), "port": port}
        for name, args in COMMANDS.items():
            pids[name] = _start(name, args, env, logs)
    finally:
        _pids_file(settings).write_text(json.dumps(pids, indent=2), encoding="utf-8")
    deadline = time.monotonic() + timeout
    while not _healthy(port):
        dead = [name for name, entry in pids.items() if not _alive(entry)]
        if dead or time.monotonic() > deadline:
            down(settings)
            why = f"{', '.join(dead)} exited" if dead else f"the API did not answer within {timeout:.0f} s"
            log = pids[dead[0] if dead else "api-server"]["log"]
            raise RetriableError(f"Airflow did not start: {why}. Last lines of {log}:\n{_log_tail(log)}")
        time.sleep(1.0)
    return Login(url=f"http://{HOST}:{port}", user=ADMIN_USER, password=password,
                 password_file=passwords_file(settings.home), logs=logs)


def down(settings: Settings, timeout: float = 30.0) -> list[str]:
    """Stop every service's process group (SIGTERM, then SIGKILL after ``timeout``); return what was stopped."""
    import psutil

    pids = _read_pids(settings)
    live = {name: e for name, e in pids.items() if _alive(e)}
    for entry in live.values():
        _signal_group(entry["pid"], signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_group_alive(e["pid"]) for e in live.values()):
        time.sleep(0.3)
    for entry in live.values():
        if _group_alive(entry["pid"]):
            _signal_group(entry["pid"], signal.SIGKILL)
    for entry in live.values():
        try:
            psutil.Process(entry["pid"]).wait(timeout=5)
        except (psutil.NoSuchProcess, psutil.TimeoutExpired, ChildProcessError):
            pass
    _pids_file(settings).unlink(missing_ok=True)
    return sorted(live)


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _group_alive(pgid: int) -> bool:
    """Any process still in the group (children of a service included)?"""
    import psutil

    for proc in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(proc.info["pid"]) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return False
