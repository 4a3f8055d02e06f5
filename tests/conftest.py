"""Shared fixtures: one connexion app per database backend for the whole session.

The API suite runs on a real SQLite file and on a real PostgreSQL server. PostgreSQL tests skip
with a reason when no server answers, except under CI (`CI` set), where they fail.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select
from starlette.testclient import TestClient

from declaration_otp.app import create_app
from declaration_otp.auth import issue_token
from declaration_otp.database import Database
from declaration_otp.migrate import upgrade
from declaration_otp.runtime import Services
from declaration_otp.secrets_at_rest import SecretBox
from declaration_otp.settings import Settings
from declaration_otp.tables import (
    AuthenticationMethod,
    Division,
    Employee,
    LegalEntity,
    Person,
    SmsMessage,
    Verification,
)
from tests.servers import sms_lines

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TEST_SECRET = "test-secret-key-0123456789abcdef"
ALL_SCOPES = [
    "declaration_request:write",
    "declaration_request:read",
    "declaration_request:approve",
    "otp:write",
]


class FakeClock:
    """Wall-clock time plus an offset the tests can move forward."""

    def __init__(self) -> None:
        self._offset = dt.timedelta()
        self._lock = threading.Lock()

    def __call__(self) -> dt.datetime:
        with self._lock:
            return dt.datetime.now(dt.UTC) + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += dt.timedelta(seconds=seconds)


def _postgres_database() -> Iterator[str]:
    """A throw-away database on the local server for this test session."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except sa.exc.OperationalError as error:
        admin.dispose()
        reason = f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {error.orig}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    name = f"dotp_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(POSTGRES_ADMIN_URL).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def terminate_backends(*pids: int) -> None:
    """End these PostgreSQL backends as a restart would, each waited for (up to 5 s) before
    returning: their clients find their connections closed by the server."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            for pid in pids:
                connection.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
    finally:
        admin.dispose()


@contextlib.contextmanager
def statements_sent(engine: sa.Engine) -> Iterator[list[str]]:
    """The statements handed to `engine`'s driver while the block runs (a pipelined unit's
    queued ones included), BEGIN and COMMIT left out."""
    sent: list[str] = []

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.split(None, 1)[0] not in ("BEGIN", "COMMIT"):
            sent.append(statement)

    sa.event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield sent
    finally:
        sa.event.remove(engine, "before_cursor_execute", on_execute)


@pytest.fixture
def captured() -> Iterator[list[tuple[str, Any]]]:
    """Every statement any engine sends while the test runs, with its parameters (the app's
    own engine included), the planner's EXPLAINs and SETs left out."""
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if not statement.lstrip().upper().startswith(("EXPLAIN", "SET")):
            statements.append((statement, parameters))

    sa.event.listen(sa.Engine, "before_cursor_execute", capture)
    yield statements
    sa.event.remove(sa.Engine, "before_cursor_execute", capture)


def query_plan(engine: sa.Engine, statement: str, parameters: Any) -> list[str]:
    """The planner's lines for `statement` run with `parameters` on `engine`."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            return [str(row[-1]) for row in rows]
        # Test tables are tiny: without this the planner would rightly prefer a sequential scan.
        connection.exec_driver_sql("SET enable_seqscan = off")
        plan = [
            str(row[0]) for row in connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
        ]
        connection.rollback()
        return plan


def full_scans(engine: sa.Engine, statement: str, parameters: Any) -> list[str]:
    """The plan's lines that read every row of a table."""
    plan = query_plan(engine, statement, parameters)
    if engine.dialect.name == "sqlite":
        # "SCAN t" reads every row; "SCAN t USING (COVERING) INDEX" and "SEARCH" do not.
        return [line for line in plan if line.startswith("SCAN") and "INDEX" not in line]
    return [line for line in plan if "Seq Scan" in line]


def postgres_with_tables(metadata: sa.MetaData) -> Iterator[Database]:
    """A throw-away PostgreSQL database holding a test's own tables (not the product's), opened
    with one pooled connection: every unit of work runs on the connection the previous one
    used."""
    for url in _postgres_database():
        database = Database.from_url(url, pool_size=1)
        metadata.create_all(database.engine)
        try:
            yield database
        finally:
            database.close()


@dataclass
class Backend:
    """A running app on one database, with what tests need to look behind the API."""

    name: str
    client: TestClient
    settings: Settings
    database: Database
    clock: FakeClock
    sms_file: Path
    secrets: SecretBox = field(init=False)

    def __post_init__(self) -> None:
        self.secrets = SecretBox(self.settings.secret_key.get_secret_value())

    def session(self) -> Any:
        return self.database.run_sync

    def read(self, work: Callable[[Session], Any]) -> Any:
        return self.database.run_sync(work, write=False)

    def write(self, work: Callable[[Session], Any]) -> Any:
        return self.database.run_sync(work, write=True)

    def sms_records(self) -> list[dict[str, Any]]:
        return sms_lines(self.sms_file)

    def wait_for_sms(self, verification_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The SMS of one verification, once the in-process relay has delivered it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for record in self.sms_records():
                if record["verification_id"] == verification_id:
                    return record
            time.sleep(0.02)
        raise AssertionError(f"no SMS for verification {verification_id} within {timeout}s")

    def code_of(self, verification_id: str) -> int:
        return int(self.wait_for_sms(verification_id)["text"].rsplit(" ", 1)[-1])

    def verifications(self, declaration_request_id: str) -> list[Verification]:
        request_id = uuid.UUID(declaration_request_id)
        return self.read(
            lambda s: list(
                s.exec(
                    select(Verification).where(Verification.declaration_request_id == request_id)
                ).all()
            )
        )

    def sms_messages(self, declaration_request_id: str) -> list[SmsMessage]:
        request_id = uuid.UUID(declaration_request_id)
        return self.read(
            lambda s: list(
                s.exec(
                    select(SmsMessage).where(SmsMessage.declaration_request_id == request_id)
                ).all()
            )
        )


def _backend(name: str, url: str, tmp_dir: Path, **overrides: Any) -> Iterator[Backend]:
    upgrade(url)
    sms_file = tmp_dir / f"sms-{name}.jsonl"
    base: dict[str, Any] = {
        "database_url": url,
        "secret_key": TEST_SECRET,
        "sms_gateway": "file",
        "sms_file": sms_file,
        "relay_poll_seconds": 0.05,
        "validate_responses": True,
        # Tests run housekeeping passes themselves (tests/test_housekeeping.py), when they choose.
        "housekeeping_enabled": False,
    }
    settings = Settings(**{**base, **overrides})
    clock = FakeClock()
    app = create_app(settings, clock=clock)
    database = Database.from_url(url, pool_size=4)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Backend(name, client, settings, database, clock, sms_file)
    database.close()


def running_backend(name: str, tmp_dir: Path, **overrides: Any) -> Iterator[Backend]:
    """A differently configured app (AUTH_MODE=gateway, ...) on its own SQLite file."""
    yield from _backend(name, f"sqlite:///{tmp_dir / (name + '.db')}", tmp_dir, **overrides)


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    tmp_dir = tmp_path_factory.mktemp(request.param)
    if request.param == "sqlite":
        yield from _backend("sqlite", f"sqlite:///{tmp_dir / 'test.db'}", tmp_dir)
    else:
        for url in _postgres_database():
            yield from _backend("postgres", url, tmp_dir)


def random_phone() -> str:
    return "+38093" + str(uuid.uuid4().int)[:7]


@dataclass
class World:
    """One legal entity with a doctor, a division, patients and tokens, unique to one test."""

    backend: Backend
    legal_entity_id: str
    doctor_id: str
    division_id: str
    otp_person_id: str
    otp_phone: str
    offline_person_id: str
    token: str
    headers: dict[str, str]

    def token_with(self, scopes: list[str], ttl_seconds: int = 3600) -> dict[str, str]:
        token = _issue(self.backend, uuid.UUID(self.legal_entity_id), scopes, ttl_seconds)
        return {"Authorization": f"Bearer {token}"}

    def create(self, person_id: str | None = None, **extra: Any) -> Any:
        body = {
            "person_id": person_id or self.otp_person_id,
            "employee_id": self.doctor_id,
            "division_id": self.division_id,
            **extra,
        }
        return self.backend.client.post(
            "/api/v3/declaration_requests", json=body, headers=self.headers
        )

    def create_ok(self, person_id: str | None = None, **extra: Any) -> dict[str, Any]:
        response = self.create(person_id, **extra)
        assert response.status_code == 201, response.text
        return response.json()["data"]  # type: ignore[no-any-return]

    def resend(self, request_id: str, headers: dict[str, str] | None = None) -> Any:
        return self.backend.client.post(
            f"/api/v3/declaration_requests/{request_id}/actions/resend_otp",
            headers=headers if headers is not None else self.headers,
        )

    def approve(
        self, request_id: str, code: int | None, headers: dict[str, str] | None = None
    ) -> Any:
        body = {} if code is None else {"verification_code": code}
        return self.backend.client.patch(
            f"/api/v3/declaration_requests/{request_id}/actions/approve",
            json=body,
            headers=headers if headers is not None else self.headers,
        )

    def reject(self, request_id: str) -> Any:
        return self.backend.client.patch(
            f"/api/v3/declaration_requests/{request_id}/actions/reject", headers=self.headers
        )

    def active_verification_id(self, request_id: str) -> str:
        active = [v for v in self.backend.verifications(request_id) if v.active]
        assert len(active) == 1, active
        return str(active[0].id)


def _issue(
    backend: Backend, legal_entity_id: uuid.UUID, scopes: list[str], ttl_seconds: int = 3600
) -> str:
    # The app's clock, not the wall clock: tests move it forward, tokens must age with it.
    services = Services(
        settings=backend.settings,
        database=backend.database,
        secrets=backend.secrets,
        clock=backend.clock,
    )
    return backend.write(  # type: ignore[no-any-return]
        lambda s: issue_token(
            s,
            services=services,
            client_id=legal_entity_id,
            user_id=f"user-{uuid.uuid4().hex[:6]}",
            scopes=scopes,
            ttl_seconds=ttl_seconds,
        )
    )


def make_world(backend: Backend) -> World:
    legal_entity_id, division_id, doctor_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    otp_person_id, offline_person_id = uuid.uuid4(), uuid.uuid4()
    phone = random_phone()

    def seed(session: Session) -> None:
        session.add(
            LegalEntity(
                id=legal_entity_id,
                name="Клініка сімейної медицини",
                short_name="КСМ",
                edrpou="38782323",
            )
        )
        session.flush()
        session.add(
            Division(id=division_id, legal_entity_id=legal_entity_id, name="Амбулаторія №1")
        )
        session.add(
            Employee(
                id=doctor_id,
                legal_entity_id=legal_entity_id,
                employee_type="DOCTOR",
                position="P2",
                first_name="Олена",
                last_name="Коваль",
            )
        )
        for person_id in (otp_person_id, offline_person_id):
            session.add(
                Person(
                    id=person_id,
                    first_name="Петро",
                    last_name="Іваненко",
                    birth_date=dt.date(1991, 8, 19),
                )
            )
        session.flush()
        session.add(
            AuthenticationMethod(
                id=uuid.uuid4(),
                person_id=otp_person_id,
                position=0,
                type="OTP",
                phone_number=phone,
            )
        )
        session.add(
            AuthenticationMethod(
                id=uuid.uuid4(), person_id=offline_person_id, position=0, type="OFFLINE"
            )
        )

    backend.write(seed)
    token = _issue(backend, legal_entity_id, ALL_SCOPES)
    return World(
        backend=backend,
        legal_entity_id=str(legal_entity_id),
        doctor_id=str(doctor_id),
        division_id=str(division_id),
        otp_person_id=str(otp_person_id),
        otp_phone=phone,
        offline_person_id=str(offline_person_id),
        token=token,
        headers={"Authorization": f"Bearer {token}"},
    )


@pytest.fixture
def world(backend: Backend) -> World:
    return make_world(backend)


@pytest.fixture
def other_world(backend: Backend) -> World:
    """A second, unrelated legal entity: its requests must stay invisible to `world`."""
    return make_world(backend)
