"""The connexion application: the spec routes and validates, handlers decide, this wires them."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

from connexion.context import _context as current_context
from connexion.context import _scope as current_scope
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from connexion.utils import get_function_from_name

from declaration_otp import auth, envelope, housekeeping, metrics
from declaration_otp.access_log import AccessLogMiddleware, OperationTagMiddleware
from declaration_otp.auth import Caller
from declaration_otp.envelope import Ok
from declaration_otp.error_handlers import ERROR_HANDLERS
from declaration_otp.load_shedding import InFlightLimitMiddleware
from declaration_otp.logging_setup import configure_logging
from declaration_otp.ops_routes import OpsRoutesMiddleware
from declaration_otp.request_id import RequestIdMiddleware
from declaration_otp.runtime import SERVICES_STATE_KEY, Services, services_of
from declaration_otp.service_app import ServiceApp
from declaration_otp.settings import Settings
from declaration_otp.sms.relay import Relay
from declaration_otp.spec import read_spec
from declaration_otp.spec_documents import connexion_middlewares
from declaration_otp.startup_heap import freeze_startup_heap
from declaration_otp.validation import VALIDATOR_MAP

logger = logging.getLogger(__name__)

# Parameters the wrapper supplies; connexion never sees them.
_INJECTED = ("services", "caller", "request_id")

Handler = Callable[..., Awaitable[Ok]]


def as_endpoint(handler: Handler) -> Callable[..., Awaitable[tuple[Any, int, dict[str, str]]]]:
    """Give a business handler its services and caller, and wrap its result in the envelope."""
    signature = inspect.signature(handler)
    wants = {name for name in _INJECTED if name in signature.parameters}
    parameters = [p for name, p in signature.parameters.items() if name not in _INJECTED]

    @functools.wraps(handler)
    async def endpoint(**kwargs: Any) -> tuple[Any, int, dict[str, str]]:
        scope = current_scope.get()
        if isinstance(kwargs.get("body"), bytes | str):
            # Without a JSON Content-Type connexion hands over raw bytes; the validator has
            # already parsed them as JSON against the schema.
            raw = kwargs["body"]
            kwargs["body"] = json.loads(raw) if raw.strip() else None
        if "services" in wants:
            kwargs["services"] = services_of(scope)
        if "caller" in wants:
            # Set by connexion's security middleware once the token and its scopes passed.
            kwargs["caller"] = Caller.from_token_info(current_context.get()["token_info"])
        if "request_id" in wants:
            kwargs["request_id"] = envelope.request_id_of(scope)
        result = await handler(**kwargs)
        return envelope.success_body(scope, result), result.status, result.headers

    endpoint.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    return endpoint


def _resolve(name: str) -> Any:
    return as_endpoint(get_function_from_name(name))


Clock = Callable[[], datetime]


def make_lifespan(
    settings: Settings, clock: Clock | None
) -> Callable[[Any], contextlib.AbstractAsyncContextManager[Any]]:
    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[dict[str, Any]]:
        services = Services.build(settings)
        if clock is not None:
            services.clock = clock
        if settings.uses_demo_secret:
            logger.warning("SECRET_KEY is the demo value: set your own before real use")
        for warning in auth.startup_warnings(settings):
            logger.warning(warning)
        stop = asyncio.Event()
        relay_task = None
        if settings.relay_enabled:
            relay = services.relay = Relay.from_services(services)
            relay_task = asyncio.create_task(relay.run(stop), name="sms-relay")
        housekeeping_task = None
        if settings.housekeeping_enabled:
            housekeeping_task = asyncio.create_task(
                housekeeping.run_periodically(services, stop), name="housekeeping"
            )
        freeze_startup_heap()
        try:
            yield {SERVICES_STATE_KEY: services}
        finally:
            stop.set()
            if housekeeping_task is not None:
                # A batch in hand is one short transaction: let it finish, then stop.
                with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(
                        housekeeping_task, timeout=settings.relay_shutdown_grace_seconds
                    )
            if relay_task is not None:
                # The relay finishes the batch in hand; past the grace period it is cancelled
                # and gives its claimed messages back (see sms/relay.py).
                with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(
                        relay_task, timeout=settings.relay_shutdown_grace_seconds
                    )
            await services.aclose()
            metrics.process_exit()

    return lifespan


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> ServiceApp:
    """The app for `settings`; `clock` replaces the wall clock (tests move time with it)."""
    settings = settings or Settings()
    app = ServiceApp(
        __name__,
        lifespan=make_lifespan(settings, clock),
        # The served description is rendered once per base path, off the loop (spec_documents.py).
        middlewares=connexion_middlewares(),
        swagger_ui_options=SwaggerUIOptions(
            swagger_ui_path="/api/ui", spec_path="/api/openapi.json"
        ),
    )
    # Outermost first: the request id is bound before the ops routes (/metrics, /health/*,
    # outside the spec) and the access log see the request; the bound on requests in hand
    # (load_shedding.py) applies to the API alone and its refusals are logged.
    app.add_middleware(RequestIdMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION)
    app.add_middleware(OpsRoutesMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION)
    app.add_middleware(AccessLogMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION)
    app.add_middleware(
        InFlightLimitMiddleware,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        limit=settings.max_requests_in_flight,
    )
    app.add_middleware(OperationTagMiddleware, position=MiddlewarePosition.BEFORE_SECURITY)
    app.add_api(
        read_spec(),
        resolver=Resolver(function_resolver=_resolve),
        strict_validation=True,
        validate_responses=settings.validate_responses,
        pythonic_params=True,
        validator_map=VALIDATOR_MAP,
        security_map=auth.security_map(settings),
    )
    for error_class, handler in ERROR_HANDLERS:
        app.add_error_handler(error_class, handler)
    return app


def app_from_environment() -> ServiceApp:
    """Factory for `uvicorn --factory` and multi-process serving: settings from the environment.

    Each worker process configures its logging here too, whoever started it."""
    settings = Settings()
    configure_logging(settings)
    return create_app(settings)
