"""Logging, configured once from settings: one handler on the root logger for every library.

- `LOG_FORMAT=text` (a terminal) or `json` (one object per line, for a log pipeline).
- Every record carries the request id of the request (or the SMS) it was logged for, from a
  context variable set by `RequestIdMiddleware` and by the relay for each message.
- A redaction filter masks anything shaped like a phone number and any `dotp_` token in a log
  line, whoever wrote it: a safety net, not a licence to log secrets.
- uvicorn, connexion, aiohttp and SQLAlchemy log through the same handler (SQLAlchemy's statement
  log only with `LOG_SQL=true`, and never with its parameters: the engines hide them).

`logging_config()` is the `dictConfig` dictionary; uvicorn gets it as its `log_config`, so each
worker process of `serve --workers N` configures itself the same way.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import logging.config
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any, Final

from declaration_otp.phone import mask_phone
from declaration_otp.settings import Settings

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "declaration_otp_request_id", default=None
)

# `+380…` also percent-encoded (`%2B380…`), as it appears in a raw URL.
_PHONE: Final = re.compile(r"(?:\+|%2[bB])[0-9]{9,16}")
_TOKEN: Final = re.compile(r"dotp_[A-Za-z0-9_-]+")
_TOKEN_MASK: Final = "dotp_***"  # noqa: S105 - the mask, not a token
# Attributes every LogRecord has: whatever else a record carries came in `extra=`.
_STANDARD_ATTRIBUTES: Final = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "request_id", "taskName", "color_message"}
)
TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# Loggers that would otherwise drown the useful lines at LOG_LEVEL=DEBUG.
_NOISY: Final = (
    "aiohttp",
    "httpx",
    "httpcore",
    "hpack",
    "asyncio",
    "multipart",
    "watchfiles",
    "aiosqlite",
)


def redact(text: str) -> str:
    """Mask phone numbers and `dotp_` tokens in `text`."""
    if "+" in text or "%2" in text:
        text = _PHONE.sub(_mask_phone_match, text)
    if "dotp_" in text:
        text = _TOKEN.sub(_TOKEN_MASK, text)
    return text


def _mask_phone_match(match: re.Match[str]) -> str:
    found = match.group(0)
    if found.startswith("%"):
        return "%2B" + (mask_phone("+" + found[3:]) or "")[1:]
    return mask_phone(found) or ""


@contextlib.contextmanager
def bound_request_id(request_id: str | None) -> Iterator[None]:
    """Log lines inside the block carry `request_id` (the relay uses it for each SMS)."""
    token = request_id_var.set(request_id)
    try:
        yield
    finally:
        request_id_var.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds `record.request_id`: the id of the request (or SMS) being handled, or "-"."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get() or "-"
        return True


class RedactionFilter(logging.Filter):
    """Masks phones and tokens in the message (its arguments included) of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: let the handler report it as usual
            return True
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        for key, value in vars(record).items():
            if isinstance(value, str) and key not in _STANDARD_ATTRIBUTES:
                setattr(record, key, redact(value))
        return True


class _Redacting(logging.Formatter):
    """Tracebacks and stack traces are redacted too: exception texts may quote anything."""

    def formatException(self, ei: Any) -> str:
        return redact(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return redact(super().formatStack(stack_info))


class TextFormatter(_Redacting):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)


class JsonFormatter(_Redacting):
    """One JSON object per line: time, level, logger, message, request id and any extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or "-",
            "pid": record.process,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value if isinstance(value, int | float | bool | None) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return redact(json.dumps(entry, ensure_ascii=False, default=str))


def make_handler(log_format: str = "text", stream: IO[str] | None = None) -> logging.Handler:
    """The one handler: request-id and redaction filters, text or JSON lines."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactionFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    return handler


def process_handler(log_format: str = "text") -> logging.Handler:
    """The handler `dictConfig` installs; Python warnings become log lines in the same format
    (a worker process imports the server stack only after its logging is configured)."""
    logging.captureWarnings(True)
    return make_handler(log_format)


def logging_config(settings: Settings) -> dict[str, Any]:
    """`logging.config.dictConfig` input for `settings` (also uvicorn's `log_config`)."""
    level = settings.log_level.strip().upper()
    third_party: dict[str, Any] = {
        # Ours has the route and the operation; uvicorn's access line would only repeat it.
        "uvicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},
        "uvicorn": {"level": level, "handlers": [], "propagate": True},
        "uvicorn.error": {"level": level, "handlers": [], "propagate": True},
        "connexion": {"level": level, "handlers": [], "propagate": True},
        # INFO is the statement log (never its parameters: see database.py); DEBUG adds rows.
        "sqlalchemy.engine": {"level": "INFO" if settings.log_sql else "WARNING"},
        "sqlalchemy.pool": {"level": "WARNING"},
        "alembic": {"level": "WARNING"},
    }
    for name in _NOISY:
        third_party[name] = {"level": "WARNING"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {
            "default": {
                "()": "declaration_otp.logging_setup.process_handler",
                "log_format": settings.log_format,
            }
        },
        "root": {"level": level, "handlers": ["default"]},
        "loggers": third_party,
    }


def configure_logging(settings: Settings) -> None:
    logging.config.dictConfig(logging_config(settings))
