"""The app's operations keep the decorator chain connexion would otherwise rebuild per request.

What the chain does (read the request, pass the spec's parameters, build the response) is
connexion's and is exercised by every API test; these check that the per-request rebuilding is
gone, and that what the endpoint is decorated with is still the business handler's signature.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import connexion.security
import pytest
from connexion.decorators import StarletteDecorator
from connexion.decorators.parameter import unwrap_decorators
from connexion.utils import inspect_function_arguments

from declaration_otp.app import as_endpoint
from handlers import declaration_requests
from tests.conftest import World

URL = "/api/v3/declaration_requests"


@pytest.fixture
def decorations(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Each function connexion's decorator chain is built for, while the test runs."""
    built: list[Any] = []
    original = StarletteDecorator.decorate

    def counted(self: StarletteDecorator, function: Any) -> Any:
        built.append(function)
        return original(self, function)

    monkeypatch.setattr(StarletteDecorator, "decorate", counted)
    yield built


@pytest.fixture
def signature_questions(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Each function whose arguments connexion's security handler inspects."""
    asked: list[Any] = []

    def counted(function: Any) -> Any:
        asked.append(function)
        return inspect_function_arguments(function)

    monkeypatch.setattr(connexion.security, "inspect_function_arguments", counted)
    yield asked


def test_an_operation_builds_its_decorators_once(world: World, decorations: list[Any]) -> None:
    for _ in range(3):
        response = world.backend.client.get(URL, headers=world.headers)
        assert response.status_code == 200, response.text
    # Once if this session had not called the listing yet, else never; connexion's own
    # AsyncApp builds the chain for each of the three requests.
    assert len(decorations) <= 1


def test_the_token_function_is_inspected_once(world: World, signature_questions: list[Any]) -> None:
    world.backend.client.get(URL, headers=world.headers)
    signature_questions.clear()
    for _ in range(3):
        assert world.backend.client.get(URL, headers=world.headers).status_code == 200
    assert signature_questions == []


def test_an_unauthenticated_request_is_still_refused(world: World) -> None:
    response = world.backend.client.get(URL, headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "access_denied"


def test_a_handler_under_its_endpoint_is_what_connexion_inspects() -> None:
    handler = declaration_requests.resend_otp
    endpoint = as_endpoint(handler)
    # connexion looks under `__wrapped__`: at the business handler, not the endpoint.
    assert unwrap_decorators(endpoint) is handler
    arguments, has_kwargs = inspect_function_arguments(handler)
    assert arguments == ["id_", "services", "caller", "request_id"] and not has_kwargs
