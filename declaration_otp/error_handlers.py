"""Every error, the framework's included, leaves as an eHealth envelope — never problem+json."""

from __future__ import annotations

import logging

from connexion.exceptions import (
    BadRequestProblem,
    NonConformingResponse,
    OAuthProblem,
    OAuthResponseProblem,
    OAuthScopeProblem,
    ProblemException,
    UnsupportedMediaTypeProblem,
)
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from declaration_otp import envelope
from declaration_otp.auth.introspection import IntrospectionUnavailable
from declaration_otp.database import DatabaseUnavailable
from declaration_otp.errors import CONFLICT_MESSAGE, MALFORMED_MESSAGE, ApiError, unavailable
from declaration_otp.spec import allowed_methods

logger = logging.getLogger(__name__)

MISSING_TOKEN = "Authorization header is not set or doesn't contain Bearer token"  # noqa: S105
INVALID_TOKEN = "Invalid access token"  # noqa: S105
MISSING_ALLOWANCES = "Your scope does not allow to access this resource. Missing allowances: "
INTERNAL = "Internal server error"

_DEFAULT_TYPES = {
    400: ("request_malformed", MALFORMED_MESSAGE),
    401: ("access_denied", MISSING_TOKEN),
    403: ("forbidden", "Access denied"),
    404: ("not_found", "Resource not found"),
    405: ("method_not_allowed", "Method not allowed"),
    406: ("content_type_invalid", "Not acceptable"),
    409: ("request_conflict", CONFLICT_MESSAGE),
    413: ("request_too_large", "Request is too large"),
    415: ("content_type_invalid", "Invalid Content-Type header, expected application/json"),
    429: ("too_many_requests", "too many requests"),
}


def render(
    request: ConnexionRequest,
    status: int,
    error_type: str,
    message: str,
    *,
    invalid: list[object] | None = None,
    headers: dict[str, str] | None = None,
) -> ConnexionResponse:
    body = envelope.error_body(request.scope, status, error_type, message, invalid)
    return ConnexionResponse(
        status_code=status,
        mimetype="application/json",
        content_type="application/json",
        body=envelope.dumps(body),
        headers=headers or {},
    )


def _default(request: ConnexionRequest, status: int) -> ConnexionResponse:
    if status >= 500:
        return render(request, status, "internal_error", INTERNAL)
    error_type, message = _DEFAULT_TYPES.get(status, ("request_malformed", "Bad request"))
    return render(request, status, error_type, message)


def handle_api_error(request: ConnexionRequest, error: ApiError) -> ConnexionResponse:
    return render(
        request,
        error.status,
        error.error_type,
        error.message,
        invalid=list(error.invalid) if error.invalid is not None else None,
        headers=error.headers,
    )


def handle_problem(request: ConnexionRequest, problem: ProblemException) -> ConnexionResponse:
    if isinstance(problem, OAuthResponseProblem):
        return render(request, 401, "access_denied", INVALID_TOKEN)
    if isinstance(problem, OAuthProblem):
        return render(request, 401, "access_denied", MISSING_TOKEN)
    if isinstance(problem, UnsupportedMediaTypeProblem):
        return _default(request, 415)
    if isinstance(problem, BadRequestProblem):
        return render(request, 400, "request_malformed", MALFORMED_MESSAGE)
    if isinstance(problem, NonConformingResponse):
        logger.error("response does not conform to the spec: %s", problem.detail)
        return render(request, 500, "internal_error", INTERNAL)
    if problem.status >= 500:
        logger.error("server problem: %s %s", problem.title, problem.detail)
    return _default(request, problem.status)


def handle_http_exception(request: ConnexionRequest, error: HTTPException) -> ConnexionResponse:
    if isinstance(error, OAuthScopeProblem):
        missing = sorted(set(error.required_scopes) - set(_scopes(error.token_scopes)))
        return render(request, 403, "forbidden", MISSING_ALLOWANCES + ", ".join(missing))
    headers = dict(error.headers or {})
    response = _default(request, error.status_code)
    response.headers.update({k: v for k, v in headers.items() if k.lower() == "allow"})
    if error.status_code == 405:
        # The router names only the method of one route; the path may have several operations.
        allowed = allowed_methods(request.url.path)
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
    return response


def _scopes(token_scopes: object) -> list[str]:
    if isinstance(token_scopes, str):
        return token_scopes.split()
    return [str(scope) for scope in token_scopes or []]  # type: ignore[attr-defined]


def handle_unavailable(request: ConnexionRequest, error: DatabaseUnavailable) -> ConnexionResponse:
    logger.error("database unavailable: %s", error)
    return handle_api_error(request, unavailable())


def handle_introspection_unavailable(
    request: ConnexionRequest, error: IntrospectionUnavailable
) -> ConnexionResponse:
    # Never "allow" without an answer; the message names no token.
    logger.error("token introspection unavailable: %s", error)
    return handle_api_error(request, unavailable())


# nginx's status for a request whose client closed the connection before it was answered: no one
# receives it, but the access log and the request metrics tell it from a failure of ours.
CLIENT_CLOSED_REQUEST = 499


def handle_client_gone(request: ConnexionRequest, error: ClientDisconnect) -> ConnexionResponse:
    # A request that waited behind others until its client gave up: its body is read only when
    # its handler starts, and by then the server knows the connection is gone. Nothing was done;
    # not a server error, and no traceback to log.
    logger.info("client closed the connection first: %s %s", request.method, request.url.path)
    return render(request, CLIENT_CLOSED_REQUEST, "client_closed_request", "Client closed request")


def handle_unexpected(request: ConnexionRequest, error: Exception) -> ConnexionResponse:
    # The trace goes to the log, never to the client.
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    return render(request, 500, "internal_error", INTERNAL)


ERROR_HANDLERS = (
    (ApiError, handle_api_error),
    (DatabaseUnavailable, handle_unavailable),
    (IntrospectionUnavailable, handle_introspection_unavailable),
    (ProblemException, handle_problem),
    (HTTPException, handle_http_exception),
    (ClientDisconnect, handle_client_gone),
    (Exception, handle_unexpected),
)
