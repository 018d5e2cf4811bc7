"""Options of the ``http`` connector: a JSON API, paged by page number, offset or cursor.

Secrets never go in the catalog: ``auth_secret_env`` names an environment variable holding the header value.
"""

from __future__ import annotations

import os
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, field_validator, model_validator

from connectors.base import SourceConfig
from zhiwang.errors import ConfigError

Pagination = Literal["none", "page", "offset", "cursor"]


class HttpSourceConfig(SourceConfig):
    connector: Literal["http"] = "http"
    url: str
    """Endpoint, e.g. https://api.example.gov.cn/v1/persons (no credentials in it)."""
    method: Literal["GET", "POST"] = "GET"
    """GET sends params in the query string; POST sends them (and the paging parameters) as a JSON body."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Fixed request parameters sent with every page."""
    records_path: str = ""
    """Dotted path to the list of records in the JSON body, e.g. data.items; empty = the body is the list."""
    pagination: Pagination = "none"
    page_param: str = "page"
    """Page-number parameter (pagination: page)."""
    first_page: int = 1
    """Number of the first page (pagination: page); some APIs count from 0."""
    size_param: str | None = "page_size"
    """Page-size parameter (page, offset and cursor pagination); null = do not send one."""
    page_size: int = Field(default=100, gt=0)
    """Records asked for per page; a page with fewer records is the last one."""
    offset_param: str = "offset"
    """Offset parameter (pagination: offset)."""
    cursor_param: str = "cursor"
    """Parameter carrying the next cursor (pagination: cursor)."""
    next_cursor_path: str | None = None
    """Dotted path to the next cursor in the JSON body (pagination: cursor); empty or missing = last page."""
    auth_header: str = "Authorization"
    """Header that carries the secret."""
    auth_secret_env: str | None = None
    """Environment variable holding the header's value, e.g. "Bearer xyz". Never the secret itself."""
    max_retries: int = Field(default=5, ge=0)
    """Retries of one page on 429, 5xx and network errors before the pull fails (it may be retried later)."""
    backoff_seconds: float = Field(default=1.0, ge=0)
    """First wait between retries, doubled each time; a Retry-After header from the server wins."""
    max_backoff_seconds: float = Field(default=120.0, ge=0)
    """Longest single wait, whatever the server's Retry-After says."""
    timeout_seconds: float = Field(default=30.0, gt=0)
    max_pages: int = Field(default=10_000, gt=0)
    """Safety cap: a pull that would need more pages fails instead of looping forever."""

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"url {value!r} must start with http:// or https:// and name a host")
        if parts.username or parts.password:
            raise ValueError("url must not contain a user or password: put the secret in the environment variable named by auth_secret_env")
        return value

    @model_validator(mode="after")
    def _cursor_needs_path(self) -> HttpSourceConfig:
        if self.pagination == "cursor" and not self.next_cursor_path:
            raise ValueError("pagination is cursor but next_cursor_path is missing: give the dotted path of the next cursor in the response")
        return self

    def auth_value(self) -> str | None:
        """The auth header's value from the environment (ConfigError when the variable is unset)."""
        if self.auth_secret_env is None:
            return None
        value = os.environ.get(self.auth_secret_env)
        if not value:
            raise ConfigError(
                f"source.auth_secret_env = {self.auth_secret_env!r}: the environment variable {self.auth_secret_env} is not set; "
                f"set it to the value of the {self.auth_header} header (e.g. 'Bearer <token>')."
            )
        return value

    def public_url(self) -> str:
        """The URL for messages: no query string (it may carry keys), no fragment."""
        parts = urlsplit(self.url)
        return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
