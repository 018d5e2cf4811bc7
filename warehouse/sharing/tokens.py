"""Bearer tokens per district and signed file URLs.

A token is shown once; ``security/tokens.json`` keeps only its HMAC-SHA256 under the home's secret
(``security/secret.key``, created on first use, mode 0600), its district, expiry and revocation. File URLs
handed to clients are signed with the same secret and expire.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from warehouse.layout import exclusive_lock
from zhiwang.errors import UserError
from zhiwang.settings import Settings


class AuthError(Exception):
    """A request whose token is missing, unknown, expired or revoked (HTTP 401)."""


@dataclass(frozen=True)
class TokenRecord:
    id: str
    district: str
    hash: str
    created_at: str
    expires_at: str
    revoked_at: str | None = None


def secret(settings: Settings) -> bytes:
    path = settings.security / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(settings.security / ".secret.lock"):
            if not path.exists():
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as handle:
                    handle.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


def _digest(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def _tokens_path(settings: Settings) -> Path:
    return settings.security / "tokens.json"


def list_tokens(settings: Settings) -> list[TokenRecord]:
    path = _tokens_path(settings)
    if not path.exists():
        return []
    return [TokenRecord(**t) for t in json.loads(path.read_text(encoding="utf-8"))["tokens"]]


def _save(settings: Settings, records: list[TokenRecord]) -> None:
    path = _tokens_path(settings)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"tokens": [asdict(r) for r in records]}, indent=1), encoding="utf-8")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def create_token(settings: Settings, district: str, days: int = 90) -> tuple[str, TokenRecord]:
    """A new token for ``district`` (returned in clear exactly once) and its stored record."""
    if days <= 0:
        raise UserError(f"--expires must be a positive number of days, got {days}.")
    token_id = secrets.token_hex(4)
    token = f"zw.{token_id}.{secrets.token_urlsafe(32)}"
    now = datetime.now(UTC)
    record = TokenRecord(id=token_id, district=district, hash=_digest(secret(settings), token),
                         created_at=now.isoformat(timespec="seconds"),
                         expires_at=(now + timedelta(days=days)).isoformat(timespec="seconds"))
    with exclusive_lock(settings.security / ".tokens.lock"):
        _save(settings, [*list_tokens(settings), record])
    return token, record


def revoke_token(settings: Settings, token_id: str) -> TokenRecord:
    with exclusive_lock(settings.security / ".tokens.lock"):
        records = list_tokens(settings)
        match = [r for r in records if r.id == token_id]
        if not match:
            raise UserError(f"No token {token_id!r} in {_tokens_path(settings)}; `zhiwang mirror token list` shows them.")
        revoked = TokenRecord(**{**asdict(match[0]), "revoked_at": datetime.now(UTC).isoformat(timespec="seconds")})
        _save(settings, [revoked if r.id == token_id else r for r in records])
    return revoked


def authenticate(settings: Settings, token: str | None) -> TokenRecord:
    """The record of a valid ``token``; AuthError (never saying which check failed) otherwise."""
    if not token or token.count(".") < 2:
        raise AuthError("missing or malformed bearer token")
    token_id = token.split(".")[1]
    digest = _digest(secret(settings), token)
    now = datetime.now(UTC)
    for record in list_tokens(settings):
        if record.id == token_id and hmac.compare_digest(record.hash, digest):
            if record.revoked_at is None and datetime.fromisoformat(record.expires_at) > now:
                return record
    raise AuthError("invalid, expired or revoked bearer token")


def sign(key: bytes, district: str, table: str, file: str, expires: int) -> str:
    return _digest(key, f"{district}\n{table}\n{file}\n{expires}")


def check_signature(key: bytes, district: str, table: str, file: str, expires: int, signature: str, now: float) -> bool:
    return expires > now and hmac.compare_digest(sign(key, district, table, file, expires), signature)
