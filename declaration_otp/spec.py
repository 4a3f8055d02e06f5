"""Facts read from the OpenAPI description itself, so nothing restates them by hand."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml

SPEC_PATH = Path(__file__).resolve().parent.parent / "openapi" / "openapi.yaml"


# libyaml's parser when PyYAML was built with it: a tenth of the pure-Python parser's time, which
# every worker process spends at start-up (connexion would parse the file with the latter).
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_spec() -> dict[str, Any]:
    """A fresh copy of the OpenAPI description (connexion resolves references in it in place)."""
    with SPEC_PATH.open(encoding="utf-8") as handle:
        spec: dict[str, Any] = yaml.load(handle, Loader=_SafeLoader)  # noqa: S506 - a safe loader
    return spec


@functools.cache
def load_spec() -> dict[str, Any]:
    """The description, parsed once per process, for reading only."""
    return read_spec()


def declared_scopes() -> frozenset[str]:
    """Every scope of the spec's oauth2 scheme: the only ones a token may carry."""
    flows = load_spec()["components"]["securitySchemes"]["oauth2"]["flows"]
    return frozenset(scope for flow in flows.values() for scope in flow.get("scopes", {}))


_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@functools.cache
def _path_patterns() -> tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]:
    patterns = []
    for template, item in load_spec()["paths"].items():
        regex = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        methods = tuple(m.upper() for m in _HTTP_METHODS if m in item)
        patterns.append((re.compile(regex), methods))
    return tuple(patterns)


def allowed_methods(path: str) -> tuple[str, ...]:
    """The methods the spec declares for the path template `path` matches (the `Allow` header)."""
    for pattern, methods in _path_patterns():
        if pattern.fullmatch(path):
            return methods
    return ()
