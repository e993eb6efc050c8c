"""One error format for the whole API: ``{"error": {"code": ..., "message": ...}}``.

Domain errors are mapped to statuses in one place: ACD errors carry a stable ``code``
(``already_logged_in`` -> 409, ``invalid_login`` -> 422...), storage errors are ``NotFound``
(404), ``Conflict`` (409) and ``ValidationFailed`` (422); request validation is 422 with the
field errors in ``details``; anything unexpected is a 500 that never leaks internals.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from callcenter.acd.errors import AcdError
from callcenter.ivr.flow import FlowError
from callcenter.logs import get_logger
from callcenter.storage.errors import Conflict, NotFound, StorageError, ValidationFailed

log = get_logger("callcenter.api")

ACD_STATUS = {
    "invalid_login": 422,
    "invalid_queue_config": 422,
    "not_logged_in": 409,
    "unknown_queue": 404,
    "unknown_call": 404,
}


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorOut(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


# Every router documents these, so the published schema matches what the API answers.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (400, 401, 403, 404, 409, 422, 423)
}


class ApiError(Exception):
    """Raised by routes: a status, a stable machine-readable code, a message for people."""

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        err["details"] = details
    return {"error": err}


def error_response(status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


def storage_status(exc: StorageError) -> tuple[int, str]:
    if isinstance(exc, NotFound):
        return 404, "not_found"
    if isinstance(exc, Conflict):
        return 409, "conflict"
    if isinstance(exc, ValidationFailed):
        return 422, "invalid"
    return 400, "bad_request"


def describe(exc: Exception) -> tuple[int, str, str]:
    """(status, code, message) of a domain error; used by the handlers and the audit log."""
    if isinstance(exc, ApiError):
        return exc.status, exc.code, exc.message
    if isinstance(exc, AcdError):
        return ACD_STATUS.get(exc.code, 409), exc.code, exc.message
    if isinstance(exc, StorageError):
        status, code = storage_status(exc)
        return status, code, str(exc)
    if isinstance(exc, FlowError):
        return 422, "invalid_flow", str(exc)
    return 500, "internal", "internal error"


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "invalid",
}


async def _domain(request: Request, exc: Exception) -> JSONResponse:
    status, code, message = describe(exc)
    details = exc.details if isinstance(exc, ApiError) else None
    return error_response(status, code, message, details)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    response = error_response(exc.status_code, code, str(exc.detail))
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    return error_response(422, "invalid", "request validation failed", jsonable_encoder(details))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("api.unexpected_error", path=request.url.path, error=repr(exc))
    return error_response(500, "internal", "internal error")


def install_handlers(app: FastAPI) -> None:
    for kind in (ApiError, AcdError, StorageError, FlowError):
        app.add_exception_handler(kind, _domain)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(Exception, _unexpected)
