"""Request validation that reports every violation in eHealth's `invalid[]` form.

connexion's own validators stop at the first error and raise problem+json; these subclasses
collect all of them and raise our 422 (or 400 for unreadable JSON).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncGenerator, Iterable
from typing import Any, ClassVar

from connexion.datastructures import MediaTypeDict
from connexion.json_schema import Draft4RequestValidator
from connexion.lifecycle import ConnexionRequest
from connexion.validators import (
    FormDataValidator,
    JSONRequestBodyValidator,
    ParameterValidator,
)
from jsonschema import Draft4Validator, FormatChecker, ValidationError
from starlette.datastructures import Headers
from starlette.types import Scope

from declaration_otp.errors import EntryType, InvalidEntry, Rule, malformed, validation_failed

FORMAT_CHECKER = FormatChecker()


@FORMAT_CHECKER.checks("uuid", raises=ValueError)  # type: ignore[untyped-decorator]
def _is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return True
    # Only the canonical hyphenated form: ids are compared as strings by clients.
    return str(uuid.UUID(value)) == value.lower() and len(value) == 36


_RULE_NAMES = {
    "type": "cast",
    "required": "required",
    "format": "format",
    "pattern": "format",
    "enum": "inclusion",
    "minimum": "number",
    "maximum": "number",
    "exclusiveMinimum": "number",
    "exclusiveMaximum": "number",
    "minLength": "length",
    "maxLength": "length",
    "minItems": "length",
    "maxItems": "length",
    "additionalProperties": "schema",
}


def _json_path(parts: Iterable[Any]) -> str:
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _describe(error: ValidationError) -> tuple[str, list[Any]]:
    kind, expected, value = error.validator, error.validator_value, error.instance
    if kind == "type":
        return f"type mismatch. Expected {expected} but got {_type_name(value)}", [expected]
    if kind == "format":
        return f"expected a valid {expected}", [expected]
    if kind == "pattern":
        return f"string does not match pattern {expected!r}", [expected]
    if kind == "enum":
        return "value is not allowed in enum", list(expected)
    if kind in ("minimum", "exclusiveMinimum"):
        return f"expected the value to be >= {expected}", [expected]
    if kind in ("maximum", "exclusiveMaximum"):
        return f"expected the value to be <= {expected}", [expected]
    if kind in ("minLength", "minItems"):
        return f"expected length to be at least {expected}", [expected]
    if kind in ("maxLength", "maxItems"):
        return f"expected length to be at most {expected}", [expected]
    return str(error.message), []


def _type_name(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}
    return "null" if value is None else names.get(type(value), "object")


def errors_to_invalid(
    errors: Iterable[ValidationError], *, entry_type: EntryType, prefix: tuple[Any, ...] = ()
) -> list[InvalidEntry]:
    """One entry per offending location, each listing every rule it breaks."""
    by_entry: dict[str, list[Rule]] = {}
    for error in errors:
        location = (*prefix, *error.absolute_path)
        rule = _RULE_NAMES.get(str(error.validator), str(error.validator))
        if error.validator == "required":
            present = error.instance if isinstance(error.instance, dict) else {}
            for name in error.validator_value:
                entry = _json_path((*location, name))
                # Draft 4 reports every missing name once per name: keep one rule each.
                if name not in present and entry not in by_entry:
                    by_entry[entry] = [
                        {"rule": "required", "description": "required property", "params": []}
                    ]
            continue
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties", {}))
            for name in sorted(set(error.instance) - allowed):
                entry = _json_path((*location, name))
                by_entry.setdefault(entry, []).append(
                    {"rule": rule, "description": "unexpected property", "params": []}
                )
            continue
        description, params = _describe(error)
        by_entry.setdefault(_json_path(location), []).append(
            {"rule": rule, "description": description, "params": params}
        )
    return [
        {"entry_type": entry_type, "entry": entry, "rules": rules}
        for entry, rules in by_entry.items()
    ]


class AllErrorsParameterValidator(ParameterValidator):  # type: ignore[misc]
    """Path, query and header parameters: every violation, unknown query parameters included."""

    _ENTRY_TYPES: ClassVar[dict[str, EntryType]] = {
        "path": "path_parameter",
        "query": "query_parameter",
        "header": "header",
    }

    def validate_request(self, request: ConnexionRequest) -> None:
        invalid: list[InvalidEntry] = []
        if self.strict_validation:
            for name in sorted(self.validate_query_parameter_list(request)):
                invalid.append(
                    {
                        "entry_type": "query_parameter",
                        "entry": f"$.{name}",
                        "rules": [
                            {"rule": "schema", "description": "unknown parameter", "params": []}
                        ],
                    }
                )
        for location, entry_type in self._ENTRY_TYPES.items():
            for param in self.parameters.get(location, []):
                value = self._value(location, param, request)
                invalid.extend(self._check(param, value, entry_type))
        if invalid:
            raise validation_failed(invalid)

    @staticmethod
    def _value(location: str, param: dict[str, Any], request: ConnexionRequest) -> Any:
        name = param["name"]
        if location == "path":
            return request.path_params.get(name.replace("-", "_"))
        if location == "query":
            return request.query_params.get(name)
        return request.headers.get(name)

    @staticmethod
    def _check(param: dict[str, Any], value: Any, entry_type: EntryType) -> list[InvalidEntry]:
        entry_prefix = ("$", param["name"])
        if value is None:
            if param.get("required"):
                return [
                    {
                        "entry_type": entry_type,
                        "entry": ".".join(entry_prefix),
                        "rules": [
                            {"rule": "required", "description": "required parameter", "params": []}
                        ],
                    }
                ]
            return []
        validator = Draft4Validator(param.get("schema", {}), format_checker=FORMAT_CHECKER)
        errors = list(validator.iter_errors(value))
        return errors_to_invalid(errors, entry_type=entry_type, prefix=(param["name"],))


class AllErrorsJSONBodyValidator(JSONRequestBodyValidator):  # type: ignore[misc]
    """JSON bodies: 400 for unreadable JSON, 422 listing every schema violation."""

    async def _parse(self, stream: AsyncGenerator[bytes, None], scope: Scope) -> Any:
        raw = b"".join([chunk async for chunk in stream])
        if not raw.strip():
            return None
        try:
            return json.loads(raw.decode(self._encoding))
        except (UnicodeDecodeError, LookupError, json.JSONDecodeError) as error:
            raise malformed() from error

    def _validate(self, body: Any) -> dict[str, Any] | None:
        if body is None:
            if self._required:
                raise validation_failed(
                    [
                        {
                            "entry_type": "json_data_property",
                            "entry": "$",
                            "rules": [
                                {
                                    "rule": "required",
                                    "description": "body is required",
                                    "params": [],
                                }
                            ],
                        }
                    ]
                )
            return None
        validator = Draft4RequestValidator(self._schema, format_checker=FORMAT_CHECKER)
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        if errors:
            raise validation_failed(errors_to_invalid(errors, entry_type="json_data_property"))
        return None


class AllErrorsFormBodyValidator(FormDataValidator):  # type: ignore[misc]
    """Form bodies (the OAuth2 token form): 422 listing every violation."""

    async def wrap_receive(self, receive: Any, *, scope: Scope) -> Any:
        # An empty form is a form without its required fields (422), not an unreadable body (400).
        if not Headers(scope=scope).get("content-length", "0").strip("0"):
            self._validate({})
        return await super().wrap_receive(receive, scope=scope)

    def _validate(self, body: Any) -> dict[str, Any] | None:
        validator = Draft4RequestValidator(self._schema, format_checker=FORMAT_CHECKER)
        errors = sorted(validator.iter_errors(body or {}), key=lambda e: list(e.absolute_path))
        if errors:
            raise validation_failed(errors_to_invalid(errors, entry_type="json_data_property"))
        return None


VALIDATOR_MAP = {
    "parameter": AllErrorsParameterValidator,
    "body": MediaTypeDict(
        {
            "*/*json": AllErrorsJSONBodyValidator,
            "application/x-www-form-urlencoded": AllErrorsFormBodyValidator,
        }
    ),
}
