"""Shared Airflow secrets, the admin login, and the environment every Airflow process gets."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from zhiwang.airflow_support import secrets, services
from zhiwang.settings import REPO_ROOT, get_settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_secrets_are_generated_once_private_and_kept(tmp_path: Path) -> None:
    first = secrets.ensure_secrets(tmp_path)
    assert set(first) == {"AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__CORE__FERNET_KEY"}
    assert len(set(first.values())) == 3 and all(len(v) >= 40 for v in first.values())
    path = secrets.secrets_file(tmp_path)
    assert mode(path) == 0o600
    assert secrets.ensure_secrets(tmp_path) == first  # never rotated: a new fernet key would orphan passwords
    path.chmod(0o644)
    assert secrets.ensure_secrets(tmp_path) == first and mode(path) == 0o600


def test_fernet_key_is_valid_for_airflow(tmp_path: Path) -> None:
    from cryptography.fernet import Fernet

    key = secrets.ensure_secrets(tmp_path)["AIRFLOW__CORE__FERNET_KEY"]
    assert Fernet(key.encode()).decrypt(Fernet(key.encode()).encrypt(b"x")) == b"x"


def test_a_missing_secret_is_added_without_touching_the_others(tmp_path: Path) -> None:
    path = secrets.secrets_file(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text("AIRFLOW__API__SECRET_KEY=mine\n", encoding="utf-8")
    values = secrets.ensure_secrets(tmp_path)
    assert values["AIRFLOW__API__SECRET_KEY"] == "mine"
    assert secrets.read_env_file(path) == values


def test_admin_password_generated_once_or_taken_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(secrets.ADMIN_PASSWORD_ENV, raising=False)
    generated = secrets.ensure_admin_password(tmp_path)
    assert secrets.ensure_admin_password(tmp_path) == generated
    path = secrets.passwords_file(tmp_path)
    assert json.loads(path.read_text()) == {"admin": generated} and mode(path) == 0o600
    monkeypatch.setenv(secrets.ADMIN_PASSWORD_ENV, "s3cret-chosen")
    assert secrets.ensure_admin_password(tmp_path) == "s3cret-chosen"
    assert json.loads(path.read_text()) == {"admin": "s3cret-chosen"}


def test_airflow_env_is_loopback_with_venv_first_and_shared_secrets(tmp_path: Path) -> None:
    settings = get_settings(tmp_path / "home", REPO_ROOT / "catalog")
    env = services.airflow_env(settings, 18123, base={"PATH": "/usr/bin"})
    assert env["AIRFLOW_HOME"] == str(REPO_ROOT)
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert env["AIRFLOW__API__BASE_URL"] == "http://127.0.0.1:18123"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18123/execution/"
    assert env["PATH"].split(":")[0] == str(services.venv_bin())
    assert (services.venv_bin() / "airflow").exists()
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{tmp_path / 'home' / 'airflow' / 'airflow.db'}"
    assert env["ZHIWANG_HOME"] == str(tmp_path / "home")
    for key, value in secrets.read_env_file(secrets.secrets_file(settings.home)).items():
        assert env[key] == value


def test_airflow_env_keeps_what_the_operator_set(tmp_path: Path) -> None:
    settings = get_settings(tmp_path / "home", REPO_ROOT / "catalog")
    pg = "postgresql+psycopg://postgres@127.0.0.1:5432/airflow"
    env = services.airflow_env(settings, base={"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": pg,
                                               "AIRFLOW__API_AUTH__JWT_SECRET": "from-vault",
                                               "AIRFLOW_HOME": "/elsewhere", "ZHIWANG_HOME": "/other/home"})
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == pg
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == "from-vault"
    # but never another Airflow home or another data home than the one the command was given
    assert (env["AIRFLOW_HOME"], env["ZHIWANG_HOME"]) == (str(REPO_ROOT), str(tmp_path / "home"))
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] == pg  # not the uninstalled asyncpg Airflow would pick


def test_a_postgres_url_without_an_installed_driver_is_refused(tmp_path: Path) -> None:
    from zhiwang.errors import ConfigError

    settings = get_settings(tmp_path / "home", REPO_ROOT / "catalog")
    with pytest.raises(ConfigError, match=r"postgresql://.*write postgresql\+psycopg://"):
        services.airflow_env(settings, base={"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql://u@h/db"})


def test_status_and_down_when_nothing_runs(tmp_path: Path) -> None:
    from zhiwang.cli import app

    result = CliRunner().invoke(app, ["airflow", "status", "--home", str(tmp_path)])
    assert result.exit_code == 0 and "not running" in result.output
    result = CliRunner().invoke(app, ["airflow", "down", "--home", str(tmp_path), "--json"])
    assert result.exit_code == 0 and json.loads(result.output) == {"stopped": []}


def test_env_command_prints_exports(tmp_path: Path) -> None:
    from zhiwang.cli import app

    result = CliRunner().invoke(app, ["airflow", "env", "--home", str(tmp_path), "--port", "18124"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert "export AIRFLOW__API__BASE_URL=http://127.0.0.1:18124" in lines
    assert f"export AIRFLOW_HOME={REPO_ROOT}" in lines
    assert secrets.passwords_file(tmp_path).is_file()


def test_airflow_cfg_points_at_the_repo_layout() -> None:
    import configparser

    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(REPO_ROOT / "airflow.cfg")
    assert cfg["core"]["dags_folder"] == "$AIRFLOW_HOME/dags"
    assert cfg["core"]["load_examples"] == "False"
    assert cfg["core"]["executor"] == "LocalExecutor"
    assert cfg["api"]["host"] == "127.0.0.1"
    assert cfg["database"]["sql_alchemy_conn"].startswith("sqlite:///$AIRFLOW_HOME/var/airflow/")
    for section, key in [("core", "fernet_key"), ("api", "secret_key"), ("api_auth", "jwt_secret")]:
        assert not cfg.has_option(section, key), f"[{section}] {key} must come from secrets.env, never the repo"
