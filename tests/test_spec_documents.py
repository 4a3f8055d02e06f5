"""The served description: connexion's document, rendered once per base path and off the loop."""

from __future__ import annotations

import asyncio
import functools
import threading
from typing import Any

from connexion.middleware.swagger_ui import SwaggerUIAPI, SwaggerUIMiddleware
from connexion.options import SwaggerUIOptions
from connexion.spec import Specification
from starlette.requests import Request
from starlette.routing import Route
from starlette.testclient import TestClient

from declaration_otp.spec import read_spec
from declaration_otp.spec_documents import (
    Kind,
    SpecDocuments,
    SpecDocumentsAPI,
    SpecDocumentsMiddleware,
)
from tests.conftest import Backend

SPEC_PATHS = {"json": "/api/openapi.json", "yaml": "/api/openapi.yaml"}
OPTIONS = SwaggerUIOptions(swagger_ui_path="/api/ui", spec_path="/api/openapi.json")


async def _not_found(scope: object, receive: object, send: object) -> None:
    raise AssertionError("no route expected to fall through")


def _request(root_path: str) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "root_path": root_path})


@functools.cache
def _connexion_document(kind: Kind, root_path: str) -> bytes:
    """What connexion's own endpoint answers, rendered by connexion itself (a second each for
    the YAML: once per kind and root path is enough)."""
    api = SwaggerUIAPI(
        Specification.load(read_spec()), default=_not_found, swagger_ui_options=OPTIONS
    )
    endpoint = api._get_openapi_json if kind == "json" else api._get_openapi_yaml
    return bytes(asyncio.run(endpoint(_request(root_path))).body)


def test_the_served_documents_are_connexions_own(backend: Backend) -> None:
    for kind, path in SPEC_PATHS.items():
        for _ in range(2):  # rendered, then from memory
            answer = backend.client.get(path)
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith(
                "application/json" if kind == "json" else "text/yaml"
            )
            assert answer.content == _connexion_document(kind, "")


def test_each_root_path_gets_its_own_servers_block(backend: Backend) -> None:
    behind_proxy = TestClient(backend.client.app, root_path="/gateway")
    assert behind_proxy.get("/gateway/api/openapi.json").json()["servers"] == [{"url": "/gateway"}]
    assert behind_proxy.get("/gateway/api/openapi.yaml").content == _connexion_document(
        "yaml", "/gateway"
    )
    assert backend.client.get("/api/openapi.json").json()["servers"] == [{"url": ""}]


def test_the_app_serves_its_description_through_the_cache(backend: Backend) -> None:
    backend.client.get("/api/openapi.json")  # the stack is built by the first request at latest
    stack = list(backend.client.app.middleware.middleware_stack)
    assert [type(layer) for layer in stack if isinstance(layer, SwaggerUIMiddleware)] == [
        SpecDocumentsMiddleware
    ]


def test_the_spec_routes_answer_from_the_cache() -> None:
    api = SpecDocumentsAPI(
        Specification.load(read_spec()), default=_not_found, swagger_ui_options=OPTIONS
    )
    endpoints = {
        route.path: route.endpoint for route in api.router.routes if isinstance(route, Route)
    }
    # Were connexion to rename the endpoints these replace, its own would serve again.
    assert endpoints["/api/openapi.json"] == api._get_openapi_json
    assert endpoints["/api/openapi.yaml"] == api._get_openapi_yaml
    assert SpecDocumentsAPI._get_openapi_json is not SwaggerUIAPI._get_openapi_json
    assert SpecDocumentsAPI._get_openapi_yaml is not SwaggerUIAPI._get_openapi_yaml


class _CountingRenderer:
    def __init__(self, *, release: threading.Event | None = None) -> None:
        self.calls: list[tuple[str, Kind]] = []
        self.release = release
        self.released_while_rendering: bool | None = None

    def __call__(self, _resolved: dict[str, Any], base_path: str, kind: Kind) -> bytes:
        if self.release is not None:
            # Set from the event loop: it is only ever set if the loop runs meanwhile.
            self.released_while_rendering = self.release.wait(timeout=10)
        self.calls.append((base_path, kind))
        return f"{kind} for {base_path!r}".encode()


def _documents(renderer: _CountingRenderer, **options: int) -> SpecDocuments:
    return SpecDocuments(Specification.load(read_spec()), renderer=renderer, **options)


def test_readers_arriving_together_share_one_rendering() -> None:
    renderer = _CountingRenderer()
    documents = _documents(renderer)

    async def read_together() -> list[bytes]:
        readers = [documents.document("", "yaml") for _ in range(5)]
        return [*await asyncio.gather(*readers), await documents.document("", "yaml")]

    assert asyncio.run(read_together()) == [b"yaml for ''"] * 6
    assert renderer.calls == [("", "yaml")]


def test_each_base_path_and_kind_is_rendered_once() -> None:
    renderer = _CountingRenderer()
    documents = _documents(renderer)

    async def read() -> None:
        for base_path in ("", "/gateway", ""):
            for kind in ("json", "yaml", "json"):
                assert await documents.document(base_path, kind) == (
                    f"{kind} for {base_path!r}".encode()
                )

    asyncio.run(read())
    assert renderer.calls == [
        ("", "json"),
        ("", "yaml"),
        ("/gateway", "json"),
        ("/gateway", "yaml"),
    ]


def test_past_the_bound_documents_are_rendered_but_not_kept() -> None:
    renderer = _CountingRenderer()
    documents = _documents(renderer, max_base_paths=1)

    async def read() -> None:
        for base_path in ("", "/a", "/a", ""):
            await documents.document(base_path, "json")
            await documents.document(base_path, "yaml")

    asyncio.run(read())
    kept = [("", "json"), ("", "yaml")]
    not_kept = [("/a", "json"), ("/a", "yaml")]
    assert renderer.calls == kept + not_kept + not_kept


def test_rendering_leaves_the_event_loop_free() -> None:
    release = threading.Event()
    renderer = _CountingRenderer(release=release)
    documents = _documents(renderer)

    async def read_while_the_loop_runs() -> bytes:
        reading = asyncio.create_task(documents.document("", "json"))
        await asyncio.sleep(0)  # the reader is now waiting for its thread
        release.set()  # only reached if rendering did not hold the loop
        return await reading

    assert asyncio.run(read_while_the_loop_runs()) == b"json for ''"
    assert renderer.released_while_rendering is True


def test_what_is_written_into_the_apis_description_later_is_not_served() -> None:
    # connexion's response validation adds `components` under each response schema it checks,
    # in the resolved description its middlewares share; the full suite served that once.
    specification = Specification.load(read_spec())
    documents = SpecDocuments(specification)
    for path_item in specification.spec["paths"].values():
        for operation in path_item.values():
            for response in operation.get("responses", {}).values():
                for media in response.get("content", {}).values():
                    media["schema"]["components"] = {"written": "later"}

    served = asyncio.run(documents.document("", "json"))
    assert served == _connexion_document("json", "")
    assert b'"written"' not in served
