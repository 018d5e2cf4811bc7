"""Where the warehouse's Delta tables and release records live: the local data home or an object store.

``ZHIWANG_WAREHOUSE_URI`` picks the root (default: the data home, so ``golden/`` and ``mirrors/`` stay under
``ZHIWANG_HOME``). ``s3://bucket/prefix`` keeps them on any S3-compatible store; credentials and the
endpoint come from the standard variables that deltalake and object_store read themselves
(``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION``,
``AWS_ALLOW_HTTP``…), never from the repository.

Everything below the root is addressed by a key (``golden/person``, ``golden/_registry/releases/3.json``).
A :class:`Storage` gives the Delta URI and storage options for a key and the few file operations the
warehouse needs; the one that matters is :meth:`Storage.put_json_once`, the commit point of a release: the
record appears whole or not at all and never replaces an existing one (a hard link locally, an S3
conditional put ``If-None-Match: *`` on the object store, which Delta's own commits also use).
"""

from __future__ import annotations

import abc
import contextlib
import functools
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from zhiwang.errors import ConfigError
from zhiwang.settings import Settings

ENV_VAR = "ZHIWANG_WAREHOUSE_URI"
SUPPORTED = "a local directory (a path or file:///path) or s3://bucket[/prefix]"


class WarehouseLocation(BaseModel):
    """The parsed warehouse root."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scheme: Literal["file", "s3"]
    path: str = ""
    """Absolute directory for ``file``."""
    bucket: str = ""
    """S3 bucket for ``s3``."""
    prefix: str = ""
    """Key prefix inside the bucket, without leading or trailing slash ('' = bucket root)."""

    @property
    def uri(self) -> str:
        if self.scheme == "file":
            return self.path
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")


def parse_location(raw: str | None, home: Path) -> WarehouseLocation:
    """``raw`` (the setting; None or '' = the data home) as a location; ConfigError says what is wrong."""
    if not raw:
        return WarehouseLocation(scheme="file", path=str(home))
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    if scheme == "":
        return WarehouseLocation(scheme="file", path=str(Path(raw).expanduser().resolve()))
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ConfigError(f"{ENV_VAR} = {raw!r}: a file URI names no host; write file:///absolute/path.")
        return WarehouseLocation(scheme="file", path=str(Path(parts.path).resolve()))
    if scheme in ("s3", "s3a"):
        bucket = parts.netloc
        problems = []
        if not bucket:
            problems.append("it names no bucket")
        elif not (3 <= len(bucket) <= 63) or not all(c.islower() or c.isdigit() or c in ".-" for c in bucket):
            problems.append(f"bucket {bucket!r} is not a valid S3 bucket name (3-63 characters: a-z, 0-9, '.', '-')")
        if parts.query or parts.fragment:
            problems.append("it carries a query or fragment; storage options come from the AWS_* variables")
        if "@" in raw or (parts.password is not None):
            problems.append("it embeds credentials; put them in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY instead")
        if problems:
            raise ConfigError(f"{ENV_VAR} = {raw!r}: {'; '.join(problems)}. Expected {SUPPORTED}.")
        return WarehouseLocation(scheme="s3", bucket=bucket, prefix=parts.path.strip("/"))
    raise ConfigError(f"{ENV_VAR} = {raw!r}: scheme {scheme!r} is not supported. Expected {SUPPORTED}.")


class Storage(abc.ABC):
    """The warehouse root. Keys are '/'-separated paths below it."""

    location: WarehouseLocation

    @property
    def is_local(self) -> bool:
        return self.location.scheme == "file"

    @abc.abstractmethod
    def uri(self, key: str) -> str:
        """The URI deltalake opens for ``key`` (a plain path when local)."""

    @property
    def storage_options(self) -> dict[str, str] | None:
        """Options handed to every deltalake call (None locally)."""
        return None

    @abc.abstractmethod
    def put_json_once(self, key: str, payload: Any) -> None:
        """Write ``payload`` as JSON at ``key`` whole or not at all; raise FileExistsError if ``key`` exists."""

    @abc.abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None:
        """Write ``data`` at ``key`` whole or not at all, replacing what is there (for derived files only)."""

    @abc.abstractmethod
    def read_bytes(self, key: str) -> bytes:
        """The bytes at ``key``; FileNotFoundError if absent."""

    @abc.abstractmethod
    def exists(self, key: str) -> bool:
        """Whether an object or file is at ``key``."""

    @abc.abstractmethod
    def numbered_json(self, directory: str) -> dict[int, str]:
        """N → key of every complete ``N.json`` directly under ``directory``, in order of N."""

    @abc.abstractmethod
    def sha256(self, key: str) -> str:
        """Hex sha256 of the bytes at ``key``."""

    @abc.abstractmethod
    def iter_bytes(self, key: str) -> Iterator[bytes]:
        """The bytes at ``key`` in chunks (for serving large files without holding them)."""

    @abc.abstractmethod
    def size(self, key: str) -> int:
        """Size in bytes of the object at ``key``; FileNotFoundError if absent."""

    @abc.abstractmethod
    def read_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes ``start`` (inclusive) to ``end`` (exclusive) of the object at ``key``."""

    @abc.abstractmethod
    def local_path(self, key: str) -> Path:
        """The file behind ``key``; ConfigError unless the warehouse is local."""

    def require_local(self, what: str) -> Path:
        """The root as a directory, or ConfigError: ``what`` works on a local warehouse only."""
        raise ConfigError(f"{what} works on a local warehouse only, but {ENV_VAR} = {self.location.uri!r}. "
                          "Use the object store's own versioning or replication for it, or unset the variable.")


class LocalStorage(Storage):
    """Files under a directory (the data home by default); the release record is published by hard link."""

    def __init__(self, location: WarehouseLocation):
        self.location = location
        self.root = Path(location.path)

    def uri(self, key: str) -> str:
        return str(self.root / key)

    def local_path(self, key: str) -> Path:
        return self.root / key

    def require_local(self, what: str) -> Path:
        return self.root

    def put_json_once(self, key: str, payload: Any) -> None:
        from warehouse.layout import write_json_once

        write_json_once(self.root / key, payload)

    def put_bytes(self, key: str, data: bytes) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def read_bytes(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def exists(self, key: str) -> bool:
        return (self.root / key).exists()

    def numbered_json(self, directory: str) -> dict[int, str]:
        from warehouse.layout import numbered_json

        return {n: f"{directory}/{p.name}" for n, p in numbered_json(self.root / directory).items()}

    def sha256(self, key: str) -> str:
        from warehouse.layout import sha256_file

        return sha256_file(self.root / key)

    def iter_bytes(self, key: str) -> Iterator[bytes]:
        with open(self.root / key, "rb") as handle:
            yield from iter(lambda: handle.read(1 << 20), b"")

    def size(self, key: str) -> int:
        return (self.root / key).stat().st_size

    def read_range(self, key: str, start: int, end: int) -> bytes:
        with open(self.root / key, "rb") as handle:
            handle.seek(start)
            return handle.read(end - start)


class ObjectStorage(Storage):
    """An S3-compatible bucket (and prefix), through obstore (the object_store crate deltalake uses too)."""

    def __init__(self, location: WarehouseLocation):
        from obstore.store import S3Store

        self.location = location
        # Conditional put (If-None-Match: *) makes Delta commits and our release records exclusive without
        # a locking provider; AWS S3, MinIO, R2 and Ceph support it. An operator who configured DynamoDB
        # locking (AWS_S3_LOCKING_PROVIDER) keeps it: deltalake reads that variable itself.
        self._options = {"aws_conditional_put": "etag"}
        self.store = S3Store(location.bucket, prefix=location.prefix or None, config={"conditional_put": "etag"})

    def uri(self, key: str) -> str:
        return f"{self.location.uri}/{key}"

    @property
    def storage_options(self) -> dict[str, str]:
        return dict(self._options)

    def local_path(self, key: str) -> Path:
        return self.require_local(f"Reading {key} as a local file")

    def put_json_once(self, key: str, payload: Any) -> None:
        import obstore
        from obstore.exceptions import AlreadyExistsError

        data = json.dumps(payload, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
        try:
            obstore.put(self.store, key, data, mode="create")  # single PUT: whole or absent
        except AlreadyExistsError:
            raise FileExistsError(f"{self.uri(key)} already exists") from None

    def put_bytes(self, key: str, data: bytes) -> None:
        import obstore

        obstore.put(self.store, key, data)  # single PUT: whole or absent

    def read_bytes(self, key: str) -> bytes:
        import obstore
        from obstore.exceptions import NotFoundError

        try:
            return obstore.get(self.store, key).bytes().to_bytes()
        except NotFoundError:
            raise FileNotFoundError(self.uri(key)) from None

    def exists(self, key: str) -> bool:
        import obstore
        from obstore.exceptions import NotFoundError

        try:
            obstore.head(self.store, key)
        except NotFoundError:
            return False
        return True

    def numbered_json(self, directory: str) -> dict[int, str]:
        import obstore

        found = {}
        listing = obstore.list_with_delimiter(self.store, directory.rstrip("/") + "/")
        for meta in listing["objects"]:
            name = meta["path"].rsplit("/", 1)[-1]
            stem = name.removesuffix(".json")
            if name.endswith(".json") and stem.isdigit():
                found[int(stem)] = f"{directory}/{name}"
        return dict(sorted(found.items()))

    def iter_bytes(self, key: str) -> Iterator[bytes]:
        import obstore
        from obstore.exceptions import NotFoundError

        try:
            result = obstore.get(self.store, key)
        except NotFoundError:
            raise FileNotFoundError(self.uri(key)) from None
        for chunk in result.stream(min_chunk_size=1 << 20):
            yield bytes(chunk)

    def size(self, key: str) -> int:
        import obstore
        from obstore.exceptions import NotFoundError

        try:
            return int(obstore.head(self.store, key)["size"])
        except NotFoundError:
            raise FileNotFoundError(self.uri(key)) from None

    def read_range(self, key: str, start: int, end: int) -> bytes:
        import obstore

        return bytes(obstore.get_range(self.store, key, start=start, end=end))

    def sha256(self, key: str) -> str:
        digest = hashlib.sha256()
        for chunk in self.iter_bytes(key):
            digest.update(chunk)
        return digest.hexdigest()


_CLIENT_ENV = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
               "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ALLOW_HTTP", "AWS_VIRTUAL_HOSTED_STYLE_REQUEST")
"""Variables the object-store client reads when it is built: a change makes a new client."""


@functools.lru_cache(maxsize=16)
def _storage(location: WarehouseLocation, _env: tuple[str | None, ...]) -> Storage:
    return LocalStorage(location) if location.scheme == "file" else ObjectStorage(location)


def storage_for(settings: Settings) -> Storage:
    """The warehouse storage the settings select (one instance per location and client environment, so a
    connection pool is reused across calls)."""
    location = parse_location(settings.warehouse_uri, settings.home)
    env = tuple(os.environ.get(n) for n in _CLIENT_ENV) if location.scheme == "s3" else ()
    return _storage(location, env)


def write_json_once(settings: Settings, key: str, payload: Any) -> None:
    """:meth:`Storage.put_json_once` on the settings' warehouse."""
    storage_for(settings).put_json_once(key, payload)


@contextlib.contextmanager
def publish_lock(settings: Settings) -> Iterator[None]:
    """Serialises publishers (and backups). Locally an flock beside the registry; with an object store an
    flock in the data home, which serialises this machine's publishers. Publishers on different machines
    are kept apart by the registry itself: release N's record is a conditional put, so only one of two
    racing publishers records N and the other stops with a UserError (its Delta commits belong to no
    release and the next publish supersedes them, exactly as after a crash)."""
    from warehouse.layout import exclusive_lock

    storage = storage_for(settings)
    if isinstance(storage, LocalStorage):
        lock = storage.root / "golden" / "_registry" / ".lock"
    else:
        lock = settings.home / "locks" / "warehouse-publish.lock"
    with exclusive_lock(lock):
        yield

