"""A new code's SMS, from the transaction that queues it to the relay of this process.

When the in-process relay can take the message at once (`Relay.reserve`), the transaction
writes it already claimed, with its first attempt open, and the relay sends it as soon as the
transaction commits: no claim transaction of the relay's own, no wait for its next round.
Otherwise (no relay in this process, its circuits not closed, enough sends in flight) the
message is queued and the relay is woken to claim it. Either way the message is in the outbox
before anything is sent, so a process that dies in between loses nothing: the claim expires
(`RELAY_CLAIM_SECONDS`) and any relay sends the message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from declaration_otp import metrics
from declaration_otp.runtime import Services
from declaration_otp.sms.outbox import BirthClaim

if TYPE_CHECKING:
    from declaration_otp.codes import IssuedCode
    from declaration_otp.sms.relay import Relay, SendSlot


class SmsDispatch:
    def __init__(self, services: Services) -> None:
        self._services = services
        relay = services.relay
        slot = relay.reserve() if relay is not None else None
        # The relay that promised to send, with its promise; None once kept or given back.
        self._reserved: tuple[Relay, SendSlot] | None = (
            (relay, slot) if relay is not None and slot is not None else None
        )

    @property
    def claim(self) -> BirthClaim | None:
        """For the code's draft (`draft_code(claim=...)`)."""
        return self._reserved[1].claim if self._reserved is not None else None

    def committed(self, issued: IssuedCode | None) -> None:
        """After the commit: count the code, send the SMS claimed in the transaction, or wake
        the relay for a queued one. `issued` None: the transaction queued no SMS."""
        if issued is None:
            return
        # Counted here, not in the transaction: a group commit that fails issues nothing, and
        # nothing but the unit's own statements runs under SQLite's write lock.
        flow = "declaration_request" if issued.for_declaration_request else "verification"
        metrics.CODES_ISSUED.labels(flow=flow).inc()
        metrics.SMS_QUEUED.inc()
        if issued.claimed_sms is not None and self._reserved is not None:
            (relay, slot), self._reserved = self._reserved, None
            relay.send_claimed(slot, issued.claimed_sms)
        else:
            self._services.sms_queued.set()

    def close(self) -> None:
        if self._reserved is not None:
            (relay, slot), self._reserved = self._reserved, None
            relay.release(slot)


@contextlib.contextmanager
def sms_dispatch(services: Services) -> Iterator[SmsDispatch]:
    """Around the unit of work that may issue a code: a slot it did not use is given back."""
    dispatch = SmsDispatch(services)
    try:
        yield dispatch
    finally:
        dispatch.close()
