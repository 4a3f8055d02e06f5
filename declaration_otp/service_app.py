"""connexion's AsyncApp, with each operation's decorators built once instead of on every request.

For every request it serves, connexion 3's AsyncApp builds the operation's decorator chain anew
(`AsyncOperation.fn` makes a decorator whose wrapper decorates the handler again on each call):
the handler's signature is inspected, three `functools.wraps` wrappers are made and the
parameter names are put into Python form by regular expressions and `inflection`, each time.
Called in-process on the framework ceiling's constant answer, that was about a quarter of a
request's CPU. Here an operation builds its chain on its first request and keeps it, and the
names' conversion is remembered; what the chain does per request (read the request, pass the
spec's parameters, turn the handler's result into a response) is connexion's own, unchanged.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import connexion
from connexion.apps.asynchronous import AsyncApi, AsyncASGIApp, AsyncOperation
from connexion.context import receive, scope
from connexion.decorators import StarletteDecorator
from connexion.decorators.parameter import AsyncParameterDecorator

# Parameter names come from the spec (strict validation refuses any other), a few per
# operation; the bound only keeps a caller's invented names from growing the memo.
_NAMES_REMEMBERED = 64


class _ParameterDecorator(AsyncParameterDecorator):  # type: ignore[misc]
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        convert: Callable[[str], str] = self.sanitize_fn  # type: ignore[has-type]
        self.sanitize_fn = functools.lru_cache(maxsize=_NAMES_REMEMBERED)(convert)


class _DecoratedOnce(StarletteDecorator):  # type: ignore[misc]
    @property
    def _parameter_decorator_cls(self) -> type[AsyncParameterDecorator]:
        return _ParameterDecorator

    def __call__(self, function: Callable[..., Any]) -> Callable[..., Any]:
        decorated = self.decorate(function)

        @functools.wraps(function)
        async def wrapper(*_args: Any, **_kwargs: Any) -> Any:
            # `scope` and `receive` are connexion's context: this request's.
            request = self.framework.get_request(
                uri_parser=self.uri_parser, scope=scope, receive=receive
            )
            return await decorated(request)

        return wrapper


class _Operation(AsyncOperation):  # type: ignore[misc]
    @functools.cached_property
    def fn(self) -> Callable[..., Any]:
        decorator = _DecoratedOnce(pythonic_params=self.pythonic_params, jsonifier=self.jsonifier)
        return decorator(self._fn)


class _Api(AsyncApi):  # type: ignore[misc]
    def make_operation(self, operation: Any) -> _Operation:
        made: _Operation = _Operation.from_operation(
            operation, pythonic_params=self.pythonic_params, jsonifier=self.jsonifier
        )
        return made


class _Operations(AsyncASGIApp):  # type: ignore[misc]
    api_cls = _Api


class ServiceApp(connexion.AsyncApp):  # type: ignore[misc]
    """`connexion.AsyncApp` whose operations keep their decorator chain (see the module)."""

    def __init__(self, import_name: str, **kwargs: Any) -> None:
        super().__init__(import_name, **kwargs)
        # AsyncApp makes its operations app in __init__ with no way to choose the class. No API
        # is added yet (connexion builds its middleware stack on the first request), so the
        # app that will receive them can still be replaced, in both places that hold it.
        self._middleware_app = self.middleware.app = _Operations()
