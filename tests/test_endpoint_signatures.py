"""connexion 3 inspects two of our functions' signatures on every request; they are kept on them.

Rebuilding a signature from a function's code costs tens of microseconds a time (measured in
docs/performance.md, ninth round); a `__signature__` that matches the function is read instead.
"""

from __future__ import annotations

import inspect

from connexion.decorators.parameter import unwrap_decorators
from connexion.utils import inspect_function_arguments

from declaration_otp import auth
from declaration_otp.app import as_endpoint
from handlers import declaration_requests


def _rebuilt(function: object) -> inspect.Signature:
    """The signature inspect builds from the code when none is kept."""
    return inspect.Signature.from_callable(function, follow_wrapped=False)  # type: ignore[arg-type]


def test_the_token_info_function_keeps_its_own_signature() -> None:
    kept = vars(auth.token_info).get("__signature__")
    assert isinstance(kept, inspect.Signature)
    # Not a copy of someone else's: the parameters connexion decides on are the real ones.
    assert [p.name for p in kept.parameters.values()] == ["token", "request"]
    assert inspect_function_arguments(auth.token_info) == (["token", "request"], False)


def test_a_handler_under_its_endpoint_keeps_its_own_signature() -> None:
    handler = declaration_requests.resend_otp
    endpoint = as_endpoint(handler)
    # connexion looks under `__wrapped__`: at the business handler, not the endpoint.
    assert unwrap_decorators(endpoint) is handler
    kept = vars(handler).get("__signature__")
    assert isinstance(kept, inspect.Signature)
    del handler.__signature__  # type: ignore[attr-defined]
    try:
        assert kept == _rebuilt(handler)
    finally:
        handler.__signature__ = kept  # type: ignore[attr-defined]
    arguments, has_kwargs = inspect_function_arguments(handler)
    assert arguments == ["id_", "services", "caller", "request_id"] and not has_kwargs
