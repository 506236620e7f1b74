"""SES errors in the REST-JSON shape that botocore parses."""

from __future__ import annotations

import json
import uuid
from typing import Any

from starlette.responses import Response

# botocore reads the error code from this header before looking at the body.
ERROR_TYPE_HEADER = "x-amzn-ErrorType"
REQUEST_ID_HEADER = "x-amzn-RequestId"
JSON_CONTENT_TYPE = "application/json"


class SesError(Exception):
    """An AWS error answer; without a status, the one the service model gives `code` applies."""

    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def json_response(
    body: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response carrying a fresh request id, as every AWS answer does."""
    all_headers = {REQUEST_ID_HEADER: str(uuid.uuid4())}
    all_headers.update(headers or {})
    content = json.dumps(body, separators=(",", ":")).encode()
    return Response(content, status_code=status, headers=all_headers, media_type=JSON_CONTENT_TYPE)


def error_response(error: SesError, *, status: int) -> Response:
    """The bytes botocore turns into `ClientError` with `Error.Code == error.code`."""
    return json_response(
        {"message": error.message},
        status=status,
        headers={ERROR_TYPE_HEADER: error.code},
    )
