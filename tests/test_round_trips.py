"""How many times one resend_otp waits for PostgreSQL, counted on the wire.

On a machine where the database is another host, each round trip is a network wait, and on
any machine each is a wait and a hand-over of the GIL on a database thread
(docs/performance.md). The whole resend is counted: the token lookup, the resend's unit of work,
and the relay's unit that records the SMS as sent once the provider took it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

from tests.conftest import Backend, _backend, _postgres_database, make_world
from tests.wire_proxy import RoundTripCounter, counting_round_trips

# The token lookup (1, one statement outside a transaction); the resend's unit (3: the request
# read and locked, the phone's stamp and its recent sends read, then the cancel, the writes and
# the COMMIT); the relay's result (2: the message's update read, then the rest and the COMMIT).
RESEND_ROUND_TRIPS = 6
# The statements those round trips carry: the token lookup; BEGIN, the request, the phone's
# stamp, its recent sends, the cancel (with its SMS drop and events), the new code with its SMS,
# send attempt and event, COMMIT; BEGIN, the result with its event, COMMIT.
RESEND_STATEMENTS = 11


@pytest.fixture(scope="module")
def counted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Backend, RoundTripCounter]]:
    for url in _postgres_database():
        server = make_url(url)
        with counting_round_trips(server.host or "127.0.0.1", server.port or 5432) as counter:
            through = server.set(
                host="127.0.0.1",
                port=counter.port,
                query={**server.query, "sslmode": "disable", "gssencmode": "disable"},
            )
            # The relay's periodic look for due messages would be counted too: rarely here.
            for backend in _backend(
                "postgres-counted",
                through.render_as_string(hide_password=False),
                Path(tmp_path_factory.mktemp("counted")),
                relay_poll_seconds=60,
            ):
                yield backend, counter


def _settled(counter: RoundTripCounter) -> int:
    """The count once nothing has waited for the server for a while (the relay is done)."""
    last, quiet_since = counter.round_trips, time.monotonic()
    while time.monotonic() - quiet_since < 0.3:
        time.sleep(0.02)
        if counter.round_trips != last:
            last, quiet_since = counter.round_trips, time.monotonic()
    return last


def test_a_resend_waits_for_postgresql_six_times(counted: tuple[Backend, RoundTripCounter]) -> None:
    backend, counter = counted
    world = make_world(backend)
    request = world.create_ok()
    backend.wait_for_sms(world.active_verification_id(request["id"]))
    costs, statements = [], [0]

    def on_execute(connection: Any, *_args: Any) -> None:
        # Every engine's statements pass here: the session's other apps keep their relays.
        if connection.engine.url.port == counter.port:
            statements[0] += 1

    event.listen(Engine, "before_cursor_execute", on_execute)  # the app's own engine
    try:
        for _ in range(3):
            backend.clock.advance(61)
            before, statements[0] = _settled(counter), 0
            response = world.resend(request["id"])
            assert response.status_code == 200, response.text
            backend.wait_for_sms(response.json()["data"]["id"])
            costs.append((_settled(counter) - before, statements[0]))
    finally:
        event.remove(Engine, "before_cursor_execute", on_execute)
    # The least of three: a background unit (the relay's poll) may fall into one of them.
    assert min(costs) == (RESEND_ROUND_TRIPS, RESEND_STATEMENTS), costs
