"""HTTP side of the pipe methods: ``POST /_upload`` and ``GET /_download/<job>?auth_token=``.

Uploads authenticate with the same credential as the WebSocket login (``Bearer`` for an API key, ``Basic``
for a password), over the same scheme and host, so the transport check already made for the login holds.
Downloads need no credential: ``core.download`` hands out a single-use, short-lived token in the URL.
"""

from __future__ import annotations

import base64
import contextlib
import json
import ssl
from typing import IO, Any

import httpx

from truenas_mcp import ejson
from truenas_mcp.client.config import Credential
from truenas_mcp.client.errors import ClientConfigError, TransferError

UploadData = bytes | IO[bytes]

_UPLOAD_STATUS = {
    400: "bad JSON in the request",
    401: "credentials missing or rejected",
    403: "the credential may not call this method",
    405: "malformed multipart request",
    412: "the method refused the request",
    422: "unknown or missing method",
}


class FileTransfer:
    """A lazily created ``httpx.AsyncClient`` bound to one TrueNAS host."""

    def __init__(self, http_base: str, verify: ssl.SSLContext | bool, timeout: float) -> None:
        self._base = http_base
        self._verify = verify
        self._timeout = timeout
        self._http: httpx.AsyncClient | None = None

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(base_url=self._base, verify=self._verify, timeout=self._timeout)
        return self._http

    async def upload(
        self,
        method: str,
        params: list[Any],
        data: UploadData,
        *,
        credential: Credential | None,
        filename: str = "file",
    ) -> int:
        """Start an upload job; returns its id (the job then runs like any other)."""
        if credential is None:
            raise ClientConfigError(
                "upload() needs a credential (TRUENAS_USERNAME plus an API key or password)"
            )
        if credential.kind == "API_KEY":
            headers = {"Authorization": f"Bearer {credential.secret.get_secret_value()}"}
        else:
            pair = f"{credential.username}:{credential.secret.get_secret_value()}".encode()
            headers = {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}
        # Part order matters to the server: "data" (the call) first, then "file".
        files = [
            ("data", (None, ejson.dumps({"method": method, "params": params}), "application/json")),
            ("file", (filename, data, "application/octet-stream")),
        ]
        try:
            response = await self._client().post("/_upload", files=files, headers=headers)
        except httpx.HTTPError as exc:
            raise TransferError(f"{method}: upload failed: {exc!r}") from exc
        if response.status_code != 200:
            raise TransferError(_http_error(method, "upload", response), response.status_code)
        try:
            job_id = response.json()["job_id"]
        except (ValueError, KeyError, TypeError) as exc:
            raise TransferError(
                f"{method}: upload answered without a job id: {response.text[:200]!r}"
            ) from exc
        if not isinstance(job_id, int):
            raise TransferError(f"{method}: upload answered a non-integer job id {job_id!r}")
        return job_id

    async def fetch(self, method: str, url: str) -> bytes:
        """GET the one-shot ``/_download`` URL ``core.download`` returned."""
        if not url.startswith("/"):
            raise TransferError(f"{method}: core.download returned an unexpected URL {url!r}")
        try:
            response = await self._client().get(url)
        except httpx.HTTPError as exc:
            raise TransferError(f"{method}: download failed: {exc!r}") from exc
        if response.status_code != 200:
            raise TransferError(_http_error(method, "download", response), response.status_code)
        return response.content

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None


def _http_error(method: str, what: str, response: httpx.Response) -> str:
    status = response.status_code
    meaning = _UPLOAD_STATUS.get(status, "") if what == "upload" else _DOWNLOAD_STATUS.get(status, "")
    body = response.text.strip()
    with contextlib.suppress(ValueError):
        body = json.dumps(response.json())
    detail = f" ({meaning})" if meaning else ""
    return f"{method}: {what} answered HTTP {status}{detail}: {body[:300]}"


_DOWNLOAD_STATUS = {
    401: "bad or missing download token",
    404: "unknown job",
    410: "the download URL expired or was already used",
}
