"""The `declaration-otp` command: migrate, load registries, issue tokens, serve.

Expected problems (a bad file, an unknown legal entity, an unreachable database) end with one line
on stderr and exit code 2; only real bugs show a traceback. Tokens are written to stdout by
`token issue` and the demo banner and nowhere else: never to a log.
"""

from __future__ import annotations

# Heavy imports are deferred into the commands that use them: every command pays only for what it
# uses (and spawned `serve --workers N` workers re-import this module).
import argparse
import contextlib
import functools
import importlib.util
import logging
import os
import sys
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

import pydantic  # already imported by settings: free

from declaration_otp.logging_setup import configure_logging, logging_config
from declaration_otp.settings import Settings

if TYPE_CHECKING:
    from sqlmodel import Session

    from declaration_otp.database import Database
    from declaration_otp.progress import ProgressLine
    from declaration_otp.registry import LoadSummary
    from declaration_otp.runtime import Services

EXIT_USAGE: Final = 2
PROGRAM: Final = "declaration-otp"
DEFAULT_TOKEN_TTL_SECONDS: Final = 30 * 24 * 3600
NOT_CURRENT: Final = f"database schema is not current: run `{PROGRAM} migrate`"


class CliError(Exception):
    """An expected problem: reported as one line, exit code 2."""


Command = Callable[[argparse.Namespace, Settings], int]


@functools.cache
def known_scopes() -> frozenset[str]:
    """The scopes the spec declares: any other can only be a typo. Read on first use."""
    from declaration_otp.spec import declared_scopes

    return declared_scopes()


# --- helpers -------------------------------------------------------------------------------


def _safe_url(url: str) -> str:
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable DATABASE_URL>"


@contextlib.contextmanager
def _database_errors(url: str) -> Iterator[None]:
    """Turn "cannot reach or use the database" into one line instead of a traceback."""
    from sqlalchemy.exc import ArgumentError, OperationalError

    from declaration_otp.db_errors import DatabaseUnavailable

    try:
        yield
    except DatabaseUnavailable as error:
        raise CliError(f"database {_safe_url(url)} is unreachable: {error}") from error
    except ArgumentError as error:
        raise CliError(f"DATABASE_URL {_safe_url(url)} is not usable: {error}") from error
    except OperationalError as error:
        # Refused connections, missing directories, wrong passwords: the setup, not a bug.
        reason = (str(error.orig).strip().splitlines() or [type(error.orig).__name__])[0]
        raise CliError(f"database {_safe_url(url)}: {reason}") from error


def _load_settings() -> Settings:
    try:
        return Settings()
    except pydantic.ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']).upper()}: {item['msg']}"
            for item in error.errors()
        )
        raise CliError(f"invalid configuration: {problems}") from error


def _sqlite_file_missing(url: str) -> bool:
    # Connecting would create an empty file: a missing file simply has no schema yet.
    from sqlalchemy import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return False
    return not Path(parsed.database).exists()


def _schema_revisions(url: str) -> tuple[str | None, str]:
    """(revision the database is at, head revision of the migrations)."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from declaration_otp.schema_version import HEAD_REVISION, database_revision

    if _sqlite_file_missing(url):
        return None, HEAD_REVISION
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return database_revision(connection), HEAD_REVISION
    finally:
        engine.dispose()


def _require_current_schema(url: str) -> None:
    with _database_errors(url):
        current, head = _schema_revisions(url)
    if current != head:
        raise CliError(NOT_CURRENT)


def _open_database(settings: Settings) -> Database:
    from declaration_otp.database import Database

    return Database.from_url(
        settings.database_url,
        pool_size=settings.database_pool_size,
        busy_timeout_ms=settings.database_busy_timeout_ms,
    )


def _parse_scopes(text: str) -> list[str]:
    scopes = text.split()
    if not scopes:
        raise CliError("--scope needs at least one scope")
    known = known_scopes()
    unknown = sorted(set(scopes) - known)
    if unknown:
        raise CliError(f"unknown scope(s) {', '.join(unknown)}; known: {' '.join(sorted(known))}")
    return scopes


# --- migrate -------------------------------------------------------------------------------


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from declaration_otp.migrate import upgrade

    url = settings.database_url
    with _database_errors(url):
        before, _ = _schema_revisions(url)
        upgrade(url)
        after, _ = _schema_revisions(url)
    if before == after:
        print(f"{_safe_url(url)}: schema already at revision {after} (head)")
    else:
        print(f"{_safe_url(url)}: schema upgraded from {before or 'empty'} to {after} (head)")
    return 0


# --- registry load -------------------------------------------------------------------------


def _load_file(settings: Settings, path: Path, progress: ProgressLine) -> LoadSummary:
    from declaration_otp.registry import load_registry, read_registry_file

    progress.note(f"reading {path}")
    registry = read_registry_file(path)
    entries = sum(len(getattr(registry, kind)) for kind in type(registry).model_fields)
    progress.note(f"checked {entries} entries in {progress.elapsed():.1f} s; writing")
    _require_current_schema(settings.database_url)
    database = _open_database(settings)
    try:
        with _database_errors(settings.database_url):
            return database.run_sync(
                lambda session: load_registry(session, registry, progress=progress), write=True
            )
    finally:
        database.close()


def _registry_load(args: argparse.Namespace, settings: Settings) -> int:
    from declaration_otp.progress import ProgressLine

    progress = ProgressLine()
    summary = _load_file(settings, args.file, progress)
    progress.note(f"done in {progress.elapsed():.1f} s")
    print(f"loaded {args.file} into {_safe_url(settings.database_url)}:")
    for line in summary.lines():
        print(f"  {line}")
    return 0


# --- token issue ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TokenRequest:
    client_id: uuid.UUID
    user_id: str
    scopes: list[str]
    ttl_seconds: int | None


def _issue(session: Session, services: Services, request: TokenRequest) -> tuple[str, str]:
    from declaration_otp.auth import issue_token  # see _quiet_third_party_warnings
    from declaration_otp.tables import LegalEntity

    legal_entity = session.get(LegalEntity, request.client_id)
    if legal_entity is None:
        raise CliError(
            f"unknown legal entity {request.client_id}: load it first with "
            f"`{PROGRAM} registry load FILE`"
        )
    token = issue_token(
        session,
        services=services,
        client_id=request.client_id,
        user_id=request.user_id,
        scopes=request.scopes,
        ttl_seconds=request.ttl_seconds,
    )
    return token, legal_entity.short_name


def _issue_with_services(settings: Settings, request: TokenRequest) -> tuple[str, str]:
    from declaration_otp.runtime import Services

    services = Services.build(settings)
    try:
        with _database_errors(settings.database_url):
            return services.database.run_sync(
                lambda session: _issue(session, services, request), write=True
            )
    finally:
        services.database.close()


def _token_issue(args: argparse.Namespace, settings: Settings) -> int:
    user_id = args.user_id.strip()
    if not 1 <= len(user_id) <= 64:
        raise CliError("--user-id must be 1 to 64 characters")
    if args.ttl < 0:
        raise CliError("--ttl must be 0 (never expires) or a number of seconds")
    request = TokenRequest(args.client_id, user_id, _parse_scopes(args.scope), args.ttl or None)
    _require_current_schema(settings.database_url)
    token, owner = _issue_with_services(settings, request)
    expiry = f"expires in {timedelta(seconds=args.ttl)}" if args.ttl else "never expires"
    # Only the token on stdout so that TOKEN=$(declaration-otp token issue ...) works.
    print(
        f"issued a token for {owner} ({request.client_id}), user {user_id}, "
        f"scopes {' '.join(sorted(set(request.scopes)))}; {expiry}",
        file=sys.stderr,
    )
    print(token)
    return 0


# --- token list / revoke -------------------------------------------------------------------


T = TypeVar("T")


def _run_tokens(settings: Settings, work: Callable[[Session], T], *, write: bool) -> T:
    _require_current_schema(settings.database_url)
    database = _open_database(settings)
    try:
        with _database_errors(settings.database_url):
            return database.run_sync(work, write=write)
    finally:
        database.close()


def _when(moment: datetime | None, empty: str) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else empty


def _token_list(args: argparse.Namespace, settings: Settings) -> int:
    from declaration_otp.auth.local import list_tokens  # see _quiet_third_party_warnings

    tokens = _run_tokens(
        settings, lambda session: list_tokens(session, client_id=args.client_id), write=False
    )
    now = datetime.now(UTC)
    # Never the token nor its hash: neither is needed to manage it.
    rows = [("ID", "CLIENT_ID", "USER_ID", "SCOPES", "EXPIRES_AT", "REVOKED_AT", "STATE")]
    rows += [
        (
            str(t.id),
            str(t.client_id),
            t.user_id,
            " ".join(t.scopes),
            _when(t.expires_at, "never"),
            _when(t.revoked_at, "-"),
            t.state(now),
        )
        for t in tokens
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())
    print(f"{len(tokens)} token(s)", file=sys.stderr)
    return 0


def _token_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from declaration_otp.auth.local import revoke_token  # see _quiet_third_party_warnings

    now = datetime.now(UTC)
    revoked = _run_tokens(
        settings, lambda session: revoke_token(session, token_id=args.token_id, now=now), write=True
    )
    if revoked is None:
        raise CliError(f"no token with id {args.token_id} (see `{PROGRAM} token list`)")
    assert revoked.revoked_at is not None
    when = _when(revoked.revoked_at, "-")
    if revoked.revoked_at < now:
        print(f"token {revoked.id} was already revoked at {when}")
    else:
        print(f"revoked token {revoked.id} of {revoked.client_id}, user {revoked.user_id}")
    return 0


# --- audit, housekeeping -------------------------------------------------------------------


def _audit(args: argparse.Namespace, settings: Settings) -> int:
    from declaration_otp.audit_story import load_story, render

    found = _run_tokens(
        settings, lambda session: load_story(session, args.declaration_request_id), write=False
    )
    if found is None:
        raise CliError(
            f"no declaration request {args.declaration_request_id} and no audit events for it"
        )
    for line in render(found):
        print(line)
    return 0


def _housekeeping(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from declaration_otp.housekeeping import run_once
    from declaration_otp.runtime import Services

    _require_current_schema(settings.database_url)
    services = Services.build(settings)

    async def once() -> list[str]:
        try:
            return (await run_once(services)).lines()
        finally:
            await services.aclose()

    with _database_errors(settings.database_url):
        lines = asyncio.run(once())
    print(f"housekeeping of {_safe_url(settings.database_url)} done:")
    for line in lines:
        print(f"  {line}")
    return 0


# --- serve ---------------------------------------------------------------------------------


def _display_host(host: str) -> str:
    if host in ("0.0.0.0", "", "::"):  # noqa: S104 - only picks the address shown in the banner
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _code_hint(settings: Settings) -> str:
    from declaration_otp import demo

    if not settings.relay_enabled:
        return "RELAY_ENABLED is false: no SMS is sent, so there is no code to read"
    example = settings.sms_text.format(code="123456")
    if settings.sms_gateway == "file":
        return f"the code is in {settings.sms_file}, one JSON line per SMS: {example}"
    return f"the code is on this console: [SMS to {demo.DEMO_PERSON_OTP_PHONE}] {example}"


def _demo_banner(settings: Settings, token: str, base: str) -> str:
    from declaration_otp import demo

    auth = '-H "Authorization: Bearer $TOKEN"'
    json_type = "-H 'Content-Type: application/json'"
    create_body = (
        f'{{"person_id": "{demo.DEMO_PERSON_OTP_ID}", "employee_id": "{demo.DEMO_DOCTOR_ID}", '
        f'"division_id": "{demo.DEMO_DIVISION_ID}"}}'
    )
    requests = "$BASE/api/v3/declaration_requests"
    days = demo.DEMO_TOKEN_TTL_SECONDS // 86400
    return "\n".join(
        [
            "",
            "declaration-otp demo: schema migrated, demo registry loaded, token issued.",
            f"Swagger UI: {base}/api/ui/  (Authorize: client_id {demo.DEMO_LEGAL_ENTITY_ID}, "
            "client_secret the token below)",
            f"Token: legal entity {demo.DEMO_LEGAL_ENTITY_ID}, user {demo.DEMO_USER_ID}, "
            f"all scopes, valid {days} days.",
            "",
            f"TOKEN='{token}'",
            f"BASE='{base}'",
            "",
            f"# 1. create: person {demo.DEMO_PERSON_OTP_ID} (OTP), doctor {demo.DEMO_DOCTOR_ID}",
            f"curl -sS -X POST \"{requests}\" {auth} {json_type} -d '{create_body}'",
            "ID=...  # set it to data.id from the response above",
            "",
            f"# 2. resend the code (cooldown {settings.otp_resend_cooldown_seconds} s, limits "
            f"{settings.otp_phone_send_limits}; beyond them 429 with Retry-After)",
            f'curl -sS -X POST "{requests}/$ID/actions/resend_otp" {auth}',
            "",
            f"# 3. {_code_hint(settings)}",
            "CODE=123456  # the digits from the latest SMS",
            "",
            "# 4. approve with the code",
            f'curl -sS -X PATCH "{requests}/$ID/actions/approve" {auth} {json_type} '
            '-d "{\\"verification_code\\": $CODE}"',
            "",
            "# 5. get, 6. list, 7. reject (NEW or APPROVED requests)",
            f'curl -sS "{requests}/$ID" {auth}',
            f'curl -sS "{requests}?status=APPROVED&page_size=10" {auth}',
            f'curl -sS -X PATCH "{requests}/$ID/actions/reject" {auth}',
            "",
            f"Also: OFFLINE person {demo.DEMO_PERSON_OFFLINE_ID} (approve with no code); "
            f"doctor {demo.DEMO_OTHER_DOCTOR_ID} of another legal entity (refused).",
            "",
        ]
    )


def _load_demo(session: Session, services: Services) -> str:
    from declaration_otp import demo
    from declaration_otp.auth import issue_token  # see _quiet_third_party_warnings
    from declaration_otp.registry import load_registry, read_registry_file

    load_registry(session, read_registry_file(demo.DEMO_REGISTRY_PATH))
    return issue_token(
        session,
        services=services,
        client_id=demo.DEMO_LEGAL_ENTITY_ID,
        user_id=demo.DEMO_USER_ID,
        scopes=list(demo.DEMO_SCOPES),
        ttl_seconds=demo.DEMO_TOKEN_TTL_SECONDS,
    )


def _prepare_demo(settings: Settings) -> str:
    """Migrate, load the demo registry and issue the demo token; return the token."""
    from declaration_otp.migrate import upgrade
    from declaration_otp.runtime import Services

    with _database_errors(settings.database_url):
        upgrade(settings.database_url)
    services = Services.build(settings)
    try:
        with _database_errors(settings.database_url):
            return services.database.run_sync(
                lambda session: _load_demo(session, services), write=True
            )
    finally:
        services.database.close()


def _event_loop() -> str:
    # uvloop has no Windows build; the standard loop keeps the command usable there.
    return "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"


def _log_level(settings: Settings) -> str:
    level = settings.log_level.strip().lower()
    if not isinstance(logging.getLevelName(level.upper()), int):
        raise CliError(f"LOG_LEVEL {settings.log_level!r} is not a logging level")
    return level


def _demo_settings(settings: Settings) -> Settings:
    """The demo walks through create then resend at once: no cooldown unless one is asked for."""
    if "OTP_RESEND_COOLDOWN_SECONDS" in os.environ:
        return settings
    # Through the environment too: worker processes build their own settings from it.
    os.environ["OTP_RESEND_COOLDOWN_SECONDS"] = "0"
    return settings.model_copy(update={"otp_resend_cooldown_seconds": 0})


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here: the server stack is heavy and the other commands never need it.
    import uvicorn

    log_level = _log_level(settings)
    banner = None
    if args.demo:
        settings = _demo_settings(settings)
        token = _prepare_demo(settings)
        banner = _demo_banner(settings, token, f"http://{_display_host(args.host)}:{args.port}")
    else:
        _require_current_schema(settings.database_url)
    configure_logging(settings)
    if banner is not None:
        print(banner, flush=True)
    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "loop": _event_loop(),
        "http": "httptools",
        "lifespan": "on",
        "log_level": log_level,
        # uvicorn applies our configuration (in every worker process too) instead of its own;
        # the app writes the access log, with the operation and the request id.
        "log_config": logging_config(settings),
        "access_log": False,
    }
    if args.workers > 1:
        from declaration_otp.worker_processes import (
            fork_workers_from_here,
            multiprocess_metrics_dir,
        )

        # Each worker process builds its app (and its relay) from the environment.
        with multiprocess_metrics_dir():
            fork_workers_from_here()
            uvicorn.run(
                "declaration_otp.app:app_from_environment",
                factory=True,
                workers=args.workers,
                timeout_graceful_shutdown=15,
                **options,
            )
    else:
        # Only here: with workers, each worker imports the app; the supervisor need not.
        from declaration_otp.app import create_app

        uvicorn.Server(uvicorn.Config(create_app(settings), **options)).run()
    return 0


# --- relay ---------------------------------------------------------------------------------


def _relay(args: argparse.Namespace, settings: Settings) -> int:
    """The SMS relay alone (run `serve` with RELAY_ENABLED=false to scale them apart)."""
    import asyncio

    from declaration_otp.sms.relay_process import run_relay

    _log_level(settings)  # a bad LOG_LEVEL is one line, not a traceback
    _require_current_schema(settings.database_url)
    configure_logging(settings)
    asyncio.run(run_relay(settings))
    return 0


# --- parser --------------------------------------------------------------------------------


def _workers(text: str) -> int:
    try:
        workers = int(text)
    except ValueError:
        workers = 0
    if not 1 <= workers <= 64:
        raise argparse.ArgumentTypeError(f"invalid worker count {text!r}: must be 1-64")
    return workers


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: must be 1-65535")
    return port


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid id {text!r}: must be a UUID") from None


def _add_registry(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    registry = commands.add_parser("registry", help="load legal entities, employees and persons")
    actions = registry.add_subparsers(dest="action", required=True, metavar="ACTION")
    load = actions.add_parser("load", help="check a YAML/JSON registry file whole and load it")
    load.add_argument("file", type=Path, metavar="FILE", help="registry file (.yaml or .json)")
    load.set_defaults(handler=_registry_load)


def _add_token(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = commands.add_parser("token", help="API bearer tokens")
    actions = token.add_subparsers(dest="action", required=True, metavar="ACTION")
    issue = actions.add_parser("issue", help="issue a token; prints only the token on stdout")
    issue.add_argument("--client-id", type=_uuid, required=True, help="legal entity id")
    issue.add_argument("--user-id", required=True, help="user acting for the legal entity")
    issue.add_argument(
        "--scope",
        required=True,
        help=f"space-separated scopes, of: {' '.join(sorted(known_scopes()))}",
    )
    issue.add_argument(
        "--ttl",
        type=int,
        default=DEFAULT_TOKEN_TTL_SECONDS,
        metavar="SECONDS",
        help="lifetime in seconds; 0 never expires (default: 30 days)",
    )
    issue.set_defaults(handler=_token_issue)
    listing = actions.add_parser("list", help="list tokens (never the tokens themselves)")
    listing.add_argument("--client-id", type=_uuid, help="only this legal entity's tokens")
    listing.set_defaults(handler=_token_list)
    revoke = actions.add_parser("revoke", help="revoke a token by the ID shown by `token list`")
    revoke.add_argument("token_id", type=_uuid, metavar="TOKEN_ID")
    revoke.set_defaults(handler=_token_revoke)


def _add_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=8000)
    serve.add_argument(
        "--workers",
        type=_workers,
        default=1,
        help="server processes sharing the port (PostgreSQL for more than one)",
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        help="migrate, load the demo registry, issue a demo token and print how to try the API",
    )
    serve.set_defaults(handler=_serve)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="eHealth Declaration Request V3 SMS one-time codes. "
        "Configured by environment variables (DATABASE_URL, SECRET_KEY, SMS_GATEWAY, ...).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    migrate = commands.add_parser("migrate", help="upgrade the database schema to the latest")
    migrate.set_defaults(handler=_migrate)
    _add_registry(commands)
    _add_token(commands)
    _add_serve(commands)
    relay = commands.add_parser(
        "relay", help="run only the SMS relay (SIGTERM/SIGINT stop it cleanly)"
    )
    relay.set_defaults(handler=_relay)
    audit = commands.add_parser("audit", help="the OTP events of one declaration request, in order")
    audit.add_argument("declaration_request_id", type=_uuid, metavar="DECLARATION_REQUEST_ID")
    audit.set_defaults(handler=_audit)
    housekeeping = commands.add_parser(
        "housekeeping", help="one pass: expire codes and requests, purge past retention"
    )
    housekeeping.set_defaults(handler=_housekeeping)
    return parser


def _fail(lines: list[str]) -> int:
    for line in lines:
        print(f"{PROGRAM}: {line}", file=sys.stderr)
    return EXIT_USAGE


def _quiet_third_party_warnings() -> None:
    # connexion (imported by auth and app) imports starlette's test client, which warns about
    # its httpx use on every start; that is connexion's business, not the operator's.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _quiet_third_party_warnings()
    handler: Command = args.handler
    try:
        return handler(args, _load_settings())
    except CliError as error:
        return _fail([str(error)])
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        # Only a command that imported the registry module can raise its error: checking without
        # importing it keeps the other commands from loading it.
        if "declaration_otp.registry" in sys.modules:
            from declaration_otp.registry import RegistryError

            if isinstance(error, RegistryError):
                return _fail(["registry rejected, nothing was loaded:", *error.report()])
        raise


if __name__ == "__main__":
    sys.exit(main())
