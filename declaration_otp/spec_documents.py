"""`/api/openapi.json` and `/api/openapi.yaml`: rendered once per base path, then kept in memory.

connexion renders the served description on every request, on the event loop: a deep copy of it,
its validation against the OpenAPI schema again and the dump (PyYAML's pure-Python emitter for
the YAML). On the benchmark machine that took 0.14-0.23 s for the JSON and 0.9-1.3 s for the YAML,
and the worker answered nothing else meanwhile: one reader of the YAML a second took resends at
100 a second from a p99 of 34 ms to 1.8-2.0 s, and a few such requests a second (they need no
token) would keep a worker from serving at all (docs/performance.md, twelfth round).

Here the first request for a base path renders its document in a worker thread and keeps the
bytes; later ones are a lookup. The document is connexion's, byte for byte (tests compare them),
made without its costs: the description was validated when the app was built, so it is only
resolved (once, from a copy taken then: connexion's response validation later writes into its
own resolved description) and given its servers block, and the YAML goes through libyaml's
emitter with connexion's style rules. Only the two endpoints change: `SpecDocumentsMiddleware`
stands where connexion's Swagger UI middleware stands in `ConnexionMiddleware.default_middlewares`.
"""

from __future__ import annotations

import asyncio
import copy
import threading
from collections.abc import Callable
from typing import Any, Final, Literal

import yaml
from connexion.json_schema import resolve_refs
from connexion.jsonifier import Jsonifier
from connexion.middleware.main import ConnexionMiddleware
from connexion.middleware.swagger_ui import SwaggerUIAPI, SwaggerUIMiddleware
from connexion.spec import Specification, canonical_base_path
from starlette.requests import Request
from starlette.responses import Response

Kind = Literal["json", "yaml"]

MEDIA_TYPES: Final[dict[Kind, str]] = {"json": "application/json", "yaml": "text/yaml"}
# Base paths come from the server's configuration (its root path), not from clients: a deployment
# has one or two. Past this many, documents are still rendered off the loop but not kept.
MAX_BASE_PATHS: Final = 8


# connexion's YAML style: strings holding a line break as literal blocks, no anchors.
_LINE_BREAKS: Final = "\n\r\x1c\x1d\x1e\x85\u2028\u2029"
_Emitter: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _DocumentDumper(_Emitter):  # type: ignore[misc]
    def ignore_aliases(self, data: Any) -> bool:
        return True

    def represent_scalar(self, tag: str, value: str, style: str | None = None) -> Any:
        # Whole, not through the parent's: connexion's dumper replaces the parent's method, for
        # every dumper, the first time it runs.
        block = any(mark in value for mark in _LINE_BREAKS)
        node = yaml.ScalarNode(tag, value, style="|" if block else self.default_style)
        if self.alias_key is not None:
            self.represented_objects[self.alias_key] = node
        return node


def render(resolved: dict[str, Any], base_path: str, kind: Kind) -> bytes:
    """The document connexion serves for `base_path` (its servers block names that path)."""
    # A new top level, the rest shared: nothing below is changed, only serialised.
    spec = {**resolved, "servers": [{"url": canonical_base_path(base_path)}]}
    if kind == "json":
        json_text: str = Jsonifier().dumps(spec)
        return json_text.encode("utf-8")
    text: str = yaml.dump(spec, allow_unicode=True, Dumper=_DocumentDumper)
    return text.encode("utf-8")


class SpecDocuments:
    """The rendered documents of one API, by base path and kind."""

    def __init__(
        self,
        specification: Specification,
        *,
        renderer: Callable[[dict[str, Any], str, Kind], bytes] = render,
        max_base_paths: int = MAX_BASE_PATHS,
    ) -> None:
        # The description as written, before anything at run time can write into it.
        self._raw = copy.deepcopy(specification.raw)
        self._resolved: dict[str, Any] | None = None
        self._renderer = renderer
        self._max_entries = max_base_paths * len(MEDIA_TYPES)
        self._rendered: dict[tuple[str, Kind], bytes] = {}
        # Held in the rendering thread: readers arriving together wait for the first rendering
        # instead of each rendering again. A thread lock, not an asyncio one: the loop never waits.
        self._rendering = threading.Lock()

    async def document(self, base_path: str, kind: Kind) -> bytes:
        rendered = self._rendered.get((base_path, kind))
        if rendered is not None:
            return rendered
        return await asyncio.to_thread(self._render_once, base_path, kind)

    def _render_once(self, base_path: str, kind: Kind) -> bytes:
        key = (base_path, kind)
        with self._rendering:
            rendered = self._rendered.get(key)
            if rendered is None:
                if self._resolved is None:
                    self._resolved = resolve_refs(self._raw)
                rendered = self._renderer(self._resolved, base_path, kind)
                if len(self._rendered) < self._max_entries:
                    self._rendered[key] = rendered
            return rendered


class SpecDocumentsAPI(SwaggerUIAPI):  # type: ignore[misc]
    """connexion's Swagger UI routes for one API, with the description served by `SpecDocuments`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.documents = SpecDocuments(self.specification)

    async def _get_openapi_json(self, request: Request) -> Response:
        return await self._respond(request, "json")

    async def _get_openapi_yaml(self, request: Request) -> Response:
        return await self._respond(request, "yaml")

    async def _respond(self, request: Request, kind: Kind) -> Response:
        body = await self.documents.document(self._base_path_for_prefix(request), kind)
        return Response(content=body, media_type=MEDIA_TYPES[kind])


class SpecDocumentsMiddleware(SwaggerUIMiddleware):  # type: ignore[misc]
    """connexion's Swagger UI middleware, its APIs built as `SpecDocumentsAPI`."""

    def add_api(
        self,
        specification: Specification,
        base_path: str | None = None,
        arguments: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        api = SpecDocumentsAPI(
            specification,
            base_path=base_path,
            arguments=arguments,
            default=self.default_fn,
            **kwargs,
        )
        self.router.mount(api.base_path, app=api.router)


def connexion_middlewares() -> list[Any]:
    """connexion's default middleware stack, with `SpecDocumentsMiddleware` in its place."""
    return [
        SpecDocumentsMiddleware if middleware is SwaggerUIMiddleware else middleware
        for middleware in ConnexionMiddleware.default_middlewares
    ]
