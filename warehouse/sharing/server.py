"""A Delta Sharing server (open protocol, REST + NDJSON) over the district mirrors.

Endpoint: ``<server>/delta-sharing``. Share ``district_<code>``, schema ``golden``, tables person,
legal_entity, building and release. A token sees only its own district's share; any other share, whether it
exists or not, gets the same 403, so a district learns nothing about another. Table versions come from the
mirror's release record, never from the Delta table's latest commit. Data files are served by this server
under ``/files/…`` with HMAC-signed, expiring URLs (streamed from the object store when the warehouse is on
one, so the store's credentials never reach a district). Every request is appended to the audit log.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse

from warehouse.layout import mirror_key
from warehouse.mirror import mirror_release
from warehouse.sharing.audit import AuditLog
from warehouse.sharing.deltalog import FileRef, commit_actions, snapshot
from warehouse.sharing.tokens import AuthError, TokenRecord, authenticate, check_signature, secret, sign
from warehouse.storage import LocalStorage, Storage, storage_for
from zhiwang.settings import Settings

PREFIX = "/delta-sharing"
SCHEMA = "golden"
PROTOCOL_LINE = {"protocol": {"minReaderVersion": 1}}


class SharingError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


_DENIED = SharingError(403, "PERMISSION_DENIED", "The token is not permitted to access this share.")


def create_app(settings: Settings, url_ttl_seconds: int = 900) -> FastAPI:
    app = FastAPI(title="zhiwang Delta Sharing", docs_url=None, redoc_url=None, openapi_url=None)
    audit = AuditLog(settings.security)
    key = secret(settings)
    storage = storage_for(settings)

    @app.middleware("http")
    async def audit_every_request(request: Request, call_next: Any) -> Response:
        status = 500  # stays 500 if the handler raised
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            token: TokenRecord | None = getattr(request.state, "token", None)
            # a file URL's signature is a short-lived credential: keep it out of the log
            query = re.sub(r"sig=[^&]*", "sig=-", request.url.query)
            audit.append(method=request.method, path=request.url.path, query=query, status=status,
                         client=request.client.host if request.client else None,
                         district=getattr(request.state, "district", None), token_id=token.id if token else None)

    @app.exception_handler(SharingError)
    async def sharing_error(_: Request, exc: SharingError) -> JSONResponse:
        return JSONResponse({"errorCode": exc.code, "message": exc.message}, status_code=exc.status)

    def district_of(request: Request, share: str | None = None) -> str:
        header = request.headers.get("authorization", "")
        try:
            record = authenticate(settings, header[7:].strip() if header.lower().startswith("bearer ") else None)
        except AuthError as exc:
            raise SharingError(401, "UNAUTHENTICATED", str(exc)) from None
        request.state.token, request.state.district = record, record.district
        if share is not None and share != f"district_{record.district}":
            raise _DENIED
        return record.district

    def current(district: str, schema: str, table: str | None = None) -> dict[str, Any]:
        record = mirror_release(settings, district)
        if schema != SCHEMA or record is None:
            raise SharingError(404, "RESOURCE_DOES_NOT_EXIST", f"No schema {schema!r} in this share.")
        if table is not None and table not in record["tables"]:
            raise SharingError(404, "RESOURCE_DOES_NOT_EXIST", f"No table {table!r} in schema {schema!r}.")
        return record

    def ndjson(lines: list[dict[str, Any]], version: int) -> Response:
        body = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
        return Response(body, media_type="application/x-ndjson", headers={"delta-table-version": str(version)})

    def file_line(request: Request, district: str, table: str, ref: FileRef, for_changes: bool) -> dict[str, Any]:
        expires = int(time.time()) + url_ttl_seconds
        url = (f"{str(request.base_url).rstrip('/')}/files/{district}/{table}/{ref.path}"
               f"?exp={expires}&sig={sign(key, district, table, ref.path, expires)}")
        body: dict[str, Any] = {"url": url, "id": hashlib.sha1(ref.path.encode()).hexdigest(),
                                "partitionValues": ref.partition_values, "size": ref.size,
                                "expirationTimestamp": expires * 1000}
        if for_changes:
            body.update(version=ref.version, timestamp=ref.timestamp)
        return {{"add": "add", "remove": "remove", "cdc": "cdf"}[ref.kind] if for_changes else "file": body}

    def version_param(raw: Any, name: str, latest: int) -> int:
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise SharingError(400, "INVALID_PARAMETER_VALUE", f"{name} must be an integer, got {raw!r}.") from None
        if not 0 <= value <= latest:
            raise SharingError(400, "INVALID_PARAMETER_VALUE", f"{name} {value} is outside 0..{latest} (the shared version).")
        return value

    @app.get(PREFIX + "/shares")
    def list_shares(request: Request) -> dict[str, Any]:
        district = district_of(request)
        return {"items": [{"name": f"district_{district}", "id": f"district_{district}"}]}

    @app.get(PREFIX + "/shares/{share}")
    def get_share(share: str, request: Request) -> dict[str, Any]:
        district_of(request, share)
        return {"share": {"name": share, "id": share}}

    @app.get(PREFIX + "/shares/{share}/schemas")
    def list_schemas(share: str, request: Request) -> dict[str, Any]:
        district_of(request, share)
        return {"items": [{"name": SCHEMA, "share": share}]}

    def tables_of(share: str, schema: str, request: Request) -> dict[str, Any]:
        record = current(district_of(request, share), schema)
        return {"items": [{"name": t, "schema": schema, "share": share} for t in record["tables"]]}

    app.get(PREFIX + "/shares/{share}/schemas/{schema}/tables")(tables_of)

    @app.get(PREFIX + "/shares/{share}/all-tables")
    def all_tables(share: str, request: Request) -> dict[str, Any]:
        return tables_of(share, SCHEMA, request)

    @app.api_route(PREFIX + "/shares/{share}/schemas/{schema}/tables/{table}/version", methods=["GET", "HEAD"])
    def table_version(share: str, schema: str, table: str, request: Request) -> Response:
        record = current(district_of(request, share), schema, table)
        return Response(headers={"delta-table-version": str(record["tables"][table]["version"])})

    @app.get(PREFIX + "/shares/{share}/schemas/{schema}/tables/{table}/metadata")
    def table_metadata(share: str, schema: str, table: str, request: Request) -> Response:
        district = district_of(request, share)
        version = current(district, schema, table)["tables"][table]["version"]
        _, metadata = snapshot(storage, mirror_key(district, table), version)
        return ndjson([PROTOCOL_LINE, {"metaData": metadata}], version)

    @app.post(PREFIX + "/shares/{share}/schemas/{schema}/tables/{table}/query")
    async def query_table(share: str, schema: str, table: str, request: Request) -> Response:
        district = district_of(request, share)
        latest = current(district, schema, table)["tables"][table]["version"]
        body = await request.json() if await request.body() else {}
        if body.get("timestamp") is not None:
            raise SharingError(400, "INVALID_PARAMETER_VALUE", "Query by timestamp is not supported; query by version.")
        version = latest if body.get("version") is None else version_param(body["version"], "version", latest)
        files, metadata = snapshot(storage, mirror_key(district, table), version)
        lines = [PROTOCOL_LINE, {"metaData": metadata}] + [file_line(request, district, table, f, False) for f in files]
        return ndjson(lines, version)

    @app.get(PREFIX + "/shares/{share}/schemas/{schema}/tables/{table}/changes")
    def table_changes(share: str, schema: str, table: str, request: Request) -> Response:
        district = district_of(request, share)
        latest = current(district, schema, table)["tables"][table]["version"]
        params = request.query_params
        if "startingVersion" not in params:
            raise SharingError(400, "INVALID_PARAMETER_VALUE", "startingVersion is required (timestamps are not supported).")
        start = version_param(params["startingVersion"], "startingVersion", latest)
        end = version_param(params.get("endingVersion", latest), "endingVersion", latest)
        if start > end:
            raise SharingError(400, "INVALID_PARAMETER_VALUE", f"startingVersion {start} is after endingVersion {end}.")
        path = mirror_key(district, table)
        _, metadata = snapshot(storage, path, end)
        actions = [file_line(request, district, table, ref, True) for v in range(start, end + 1)
                   for ref in commit_actions(storage, path, v)]
        return ndjson([PROTOCOL_LINE, {"metaData": metadata}, *actions], end)

    @app.api_route("/files/{district}/{table}/{file:path}", methods=["GET", "HEAD"])
    def serve_file(district: str, table: str, file: str, request: Request, exp: int = 0, sig: str = "") -> Response:
        if not check_signature(key, district, table, file, exp, sig, time.time()) or ".." in Path(file).parts:
            raise SharingError(403, "PERMISSION_DENIED", "The file URL is invalid or has expired.")
        request.state.district = district
        target = f"{mirror_key(district, table)}/{file}"
        if isinstance(storage, LocalStorage):
            path = storage.local_path(target)
            if not path.is_file():
                raise SharingError(404, "RESOURCE_DOES_NOT_EXIST", "No such file.")
            return FileResponse(path, media_type="application/octet-stream")
        return _object_response(storage, target, request)

    return app


def _object_response(storage: Storage, key: str, request: Request) -> Response:
    """A data file streamed from the object store, with HEAD and single byte ranges as clients (fsspec,
    pyarrow) need for Parquet footers: what FileResponse does for a local file."""
    try:
        size = storage.size(key)
    except FileNotFoundError:
        raise SharingError(404, "RESOURCE_DOES_NOT_EXIST", "No such file.") from None
    headers = {"accept-ranges": "bytes", "content-length": str(size)}
    kind = "application/octet-stream"
    if request.method == "HEAD":
        return Response(headers=headers, media_type=kind)
    wanted = _byte_range(request.headers.get("range"), size)
    if wanted is None:
        return StreamingResponse(storage.iter_bytes(key), headers=headers, media_type=kind)
    start, end = wanted
    return Response(storage.read_range(key, start, end), status_code=206, media_type=kind,
                    headers={"accept-ranges": "bytes", "content-range": f"bytes {start}-{end - 1}/{size}"})


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end exclusive) of a ``Range: bytes=…`` header with one range; None = the whole file."""
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", (header or "").strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.groups()
    if first == "":  # the last N bytes
        start, end = max(size - int(last), 0), size
    else:
        start, end = int(first), min(int(last) + 1, size) if last else size
    if start >= end:
        raise SharingError(416, "INVALID_PARAMETER_VALUE", f"Range {header!r} is outside the file's {size} bytes.")
    return start, end


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Run the server in the foreground until interrupted."""
    import uvicorn

    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
