"""The ``http`` connector: page through a JSON API and land its records.

One pull walks every page (page number, offset or cursor), retrying a page on 429, 5xx and network errors
with exponential backoff (the server's Retry-After wins). A 4xx other than 429 is the catalog's or the
credentials' fault: it fails at once with the status and the start of the body.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from connectors.base import ConnectorContext, PullConnector, Window
from connectors.http.config import HttpSourceConfig
from connectors.registry import register_connector
from zhiwang.errors import RetriableError, UserError

if TYPE_CHECKING:
    import httpx
    import pyarrow as pa

log = logging.getLogger(__name__)
SNIPPET = 300
_MISSING = object()


@register_connector("http")
class HttpConnector(PullConnector[HttpSourceConfig]):
    config_class = HttpSourceConfig
    sleep: Callable[[float], None] = staticmethod(time.sleep)
    """How the connector waits between retries (a seam for tests and schedulers)."""

    def __init__(self, config: HttpSourceConfig, context: ConnectorContext):
        super().__init__(config, context)
        self.requests = 0
        self.retries = 0

    def describe(self, window: Window) -> str:
        return f"http pull of {self.config.method} {self.config.public_url()}"

    def read(self, window: Window) -> Iterator[pa.RecordBatch]:
        import httpx
        import pyarrow as pa

        cfg = self.config
        headers = {"Accept": "application/json"}
        secret = cfg.auth_value()
        if secret is not None:
            headers[cfg.auth_header] = secret
        columns: list[str] | None = None
        with httpx.Client(timeout=cfg.timeout_seconds, headers=headers, follow_redirects=True) as client:
            for label, records in self._pages(client):
                if columns is None:
                    columns = self._columns(records)
                else:
                    self._warn_new_keys(columns, records, label)
                yield _batch(columns, records)
        if columns is None:  # nothing at all: land the declared columns, so the pull reconciles to zero rows
            yield pa.RecordBatch.from_pydict({f.column: pa.array([], pa.string()) for f in self.context.resource.fields})

    # -- paging ------------------------------------------------------------------------------------------
    def _pages(self, client: httpx.Client) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        cfg = self.config
        page, offset, cursor = cfg.first_page, 0, None
        for _ in range(cfg.max_pages):
            params = dict(cfg.params)
            label = "first page"
            if cfg.pagination == "page":
                params[cfg.page_param], label = page, f"{cfg.page_param}={page}"
            elif cfg.pagination == "offset":
                params[cfg.offset_param], label = offset, f"{cfg.offset_param}={offset}"
            elif cfg.pagination == "cursor" and cursor is not None:
                params[cfg.cursor_param], label = cursor, f"{cfg.cursor_param}={cursor}"
            if cfg.pagination != "none" and cfg.size_param:
                params[cfg.size_param] = cfg.page_size
            body = self._request(client, params, label)
            records = _records(body, cfg.records_path, f"{cfg.public_url()} ({label})")
            if records:
                yield label, records
            if cfg.pagination == "none" or not records:
                return
            if cfg.pagination in ("page", "offset") and cfg.size_param and len(records) < cfg.page_size:
                return
            if cfg.pagination == "cursor":
                next_cursor = _at(body, cfg.next_cursor_path or "")
                if next_cursor is _MISSING or next_cursor in (None, ""):
                    return
                if next_cursor == cursor:
                    raise UserError(
                        f"{cfg.public_url()} returned the same cursor {next_cursor!r} twice; check source.next_cursor_path "
                        f"({cfg.next_cursor_path!r}) and source.cursor_param ({cfg.cursor_param!r})."
                    )
                cursor = next_cursor
            page, offset = page + 1, offset + len(records)
        raise UserError(
            f"{cfg.public_url()}: still more records after source.max_pages = {cfg.max_pages} pages. Raise max_pages if the "
            f"source really is that large, or check the pagination settings (the API may ignore {cfg.pagination} paging)."
        )

    def _request(self, client: httpx.Client, params: dict[str, Any], label: str) -> Any:
        import httpx

        cfg = self.config
        where = f"{cfg.method} {cfg.public_url()} ({label})"
        for attempt in range(cfg.max_retries + 1):
            wait = cfg.backoff_seconds * 2**attempt
            self.requests += 1
            try:
                if cfg.method == "GET":  # merged: httpx would drop a query string already in the URL
                    response = client.get(httpx.URL(cfg.url).copy_merge_params(params))
                else:
                    response = client.post(cfg.url, json=params)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                status = response.status_code
                if status == 429 or status >= 500:
                    problem = f"HTTP {status} {response.reason_phrase}"
                    wait = _retry_after(response, wait)
                elif status >= 400:
                    raise UserError(_client_error(where, response, cfg.auth_secret_env))
                else:
                    return _json_body(where, response)
            if attempt == cfg.max_retries:
                raise RetriableError(f"{where}: gave up after {attempt + 1} attempt(s); last answer: {problem}")
            self.retries += 1
            log.warning("%s: %s; retry %d of %d in %.1f s", where, problem, attempt + 1, cfg.max_retries, wait)
            self.sleep(min(wait, cfg.max_backoff_seconds))
        raise AssertionError("unreachable")  # the loop always returns or raises

    # -- records -----------------------------------------------------------------------------------------
    def _columns(self, records: list[dict[str, Any]]) -> list[str]:
        """Keys of the first page in order of appearance, then declared columns the page lacked: JSON APIs
        often omit null values, and a declared column should land (empty) rather than vanish."""
        columns = list(dict.fromkeys(key for record in records for key in record))
        columns += [f.column for f in self.context.resource.fields if f.column not in columns]
        return columns

    def _warn_new_keys(self, columns: list[str], records: list[dict[str, Any]], label: str) -> None:
        new = {key for record in records for key in record} - set(columns)
        if new:
            log.warning(
                "%s (%s): keys %s first appear after the first page and are not declared in the catalog; they are not landed",
                self.config.public_url(), label, ", ".join(sorted(new)),
            )


def _batch(columns: list[str], records: list[dict[str, Any]]) -> pa.RecordBatch:
    import pyarrow as pa

    return pa.RecordBatch.from_pydict({c: pa.array([_text(r.get(c)) for r in records], pa.string()) for c in columns})


def _text(value: Any) -> str | None:
    """A JSON value as delivered text; objects and arrays stay JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _at(body: Any, path: str) -> Any:
    """The value at a dotted path (digits index lists); _MISSING when the path does not exist."""
    current = body
    for part in [p for p in path.split(".") if p]:
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.lstrip("-").isdigit() and -len(current) <= int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return current


def _records(body: Any, path: str, where: str) -> list[dict[str, Any]]:
    value = _at(body, path)
    if value is None:  # {"data": {"items": null}}: some APIs say "no records" this way
        return []
    if value is _MISSING or not isinstance(value, list):
        found = f"keys there: {', '.join(map(str, body))}" if isinstance(body, dict) else f"the body is a {type(body).__name__}"
        what = "missing" if value is _MISSING else f"a {type(value).__name__}, not a list"
        raise UserError(f"{where}: source.records_path = {path!r} is {what} in the response ({found}). Fix records_path.")
    bad = next((i for i, r in enumerate(value) if not isinstance(r, dict)), None)
    if bad is not None:
        raise UserError(f"{where}: record {bad} at source.records_path = {path!r} is a {type(value[bad]).__name__}, not an object.")
    return value


def _json_body(where: str, response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise UserError(f"{where} answered {response.status_code} but not with JSON: {_snippet(response)}") from None


def _client_error(where: str, response: httpx.Response, secret_env: str | None) -> str:
    hint = {
        401: f"check the secret in the environment variable {secret_env}" if secret_env else "the API needs credentials: set source.auth_secret_env",
        403: "the credentials are valid but not allowed to read this; ask the provider for access",
        404: "check source.url",
    }.get(response.status_code, "check source.url and source.params")
    return f"{where} answered {response.status_code} {response.reason_phrase}: {_snippet(response)}. Fix: {hint}."


def _retry_after(response: httpx.Response, default: float) -> float:
    value = response.headers.get("Retry-After")
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return default


def _snippet(response: httpx.Response) -> str:
    text = " ".join(response.text.split())
    return repr(text[:SNIPPET] + ("…" if len(text) > SNIPPET else "")) if text else "(empty body)"
