"""Airflow's shared secrets and the admin login, generated once into the data home.

Every Airflow process must share one ``[api_auth] jwt_secret``, ``[api] secret_key`` and fernet key: without
them each process makes its own and tasks fail with "Signature verification failed". We generate them once
into ``<ZHIWANG_HOME>/airflow/secrets.env`` (mode 0600, never in the repository) and export them from
``zhiwang airflow`` commands. A value already set in the environment wins, so an operator can supply their own.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path

# Airflow config env var → how to make a fresh value.
SECRET_VARS: dict[str, str] = {
    "AIRFLOW__API_AUTH__JWT_SECRET": "token",
    "AIRFLOW__API__SECRET_KEY": "token",
    "AIRFLOW__CORE__FERNET_KEY": "fernet",
}
ADMIN_USER = "admin"
ADMIN_PASSWORD_ENV = "ZHIWANG_AIRFLOW_ADMIN_PASSWORD"
"""Set this to choose the admin's password; otherwise one is generated into the data home."""


def airflow_dir(home: Path) -> Path:
    """Where Airflow's state lives inside the data home."""
    return home / "airflow"


def secrets_file(home: Path) -> Path:
    return airflow_dir(home) / "secrets.env"


def passwords_file(home: Path) -> Path:
    """The simple auth manager's password file (JSON user → password)."""
    return airflow_dir(home) / "simple_auth_manager_passwords.json"


def _fresh(kind: str) -> str:
    if kind == "fernet":
        # the format cryptography.fernet.Fernet.generate_key() produces, without importing it here
        return base64.urlsafe_b64encode(os.urandom(32)).decode()
    return secrets.token_urlsafe(48)


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, created with that mode (no window where it is world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)  # in case the file existed with a wider mode


def read_env_file(path: Path) -> dict[str, str]:
    """Parse ``KEY=value`` lines (comments and blank lines ignored)."""
    out: dict[str, str] = {}
    if not path.is_file():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        out[key.strip()] = value.strip()
    return out


def ensure_secrets(home: Path) -> dict[str, str]:
    """The shared secrets, generating whatever the secrets file lacks (existing values are never rotated,
    since a new fernet key would make stored connection passwords unreadable)."""
    path = secrets_file(home)
    values = read_env_file(path)
    missing = {name: _fresh(kind) for name, kind in SECRET_VARS.items() if not values.get(name)}
    if missing or not path.is_file():
        values.update(missing)
        lines = ["# Airflow secrets shared by every zhiwang Airflow process. Generated once; keep private."]
        lines += [f"{name}={values[name]}" for name in SECRET_VARS]
        _write_private(path, "\n".join(lines) + "\n")
    elif path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)
    return {name: values[name] for name in SECRET_VARS}


def ensure_admin_password(home: Path) -> str:
    """The admin's password: from ``ZHIWANG_AIRFLOW_ADMIN_PASSWORD`` if set, else generated once.

    Written to the simple auth manager's password file either way, because that file is what Airflow reads.
    """
    path = passwords_file(home)
    wanted = os.environ.get(ADMIN_PASSWORD_ENV)
    current: dict[str, str] = {}
    if path.is_file():
        try:
            current = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            current = {}
    password = wanted or current.get(ADMIN_USER) or secrets.token_urlsafe(12)
    if current.get(ADMIN_USER) != password or not path.is_file():
        current[ADMIN_USER] = password
        _write_private(path, json.dumps(current, indent=2) + "\n")
    return password
