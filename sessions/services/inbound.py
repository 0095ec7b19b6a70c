"""Inbound SMS, from a provider's callback or its inbox poller: taken once by the provider's
message id, and answered by the keyword services, all in one unit of work.

The message's row, what it does (a reset, a complaint, the limits it counts) and its reply commit
together or not at all: a crash before the commit leaves nothing, so the provider's retry is
handled as new; after it, the retry is a duplicate and changes nothing.
"""

from __future__ import annotations

import logging

from sessions.keywords import parse
from sessions.masking import mask_msisdn
from sessions.ports import Busy
from sessions.services.deps import Deps
from sessions.services.sms_commands import answer
from sessions.validators import InvalidInput, mobile

log = logging.getLogger("dargah.inbound")


class _Taken(Exception):
    """Another delivery of the same message was taken first: undo this one."""


# How often a message may be found taken by a delivery that was then undone, before the
# provider is told to come back later.
_TAKES = 3


async def handle_inbound(
    deps: Deps, provider: str, provider_message_id: str, sender: str, text: str
) -> bool:
    """True when the message was new and has been answered; False for a repeat of a message
    already taken, answered only once that taking is committed."""
    try:
        caller = mobile(sender)
    except InvalidInput:
        caller = ""
    # No look before the claim: the claim itself tells a repeat, which it undoes unanswered.
    command = parse(text).command.value if caller else ""
    for _ in range(_TAKES):
        if await _take(deps, provider, provider_message_id, caller, text, command):
            if caller:
                log.info("%s inbound from %s: %s", provider, mask_msisdn(caller), command)
            else:  # a short code or a landline: nothing we could answer by SMS
                log.info("%s inbound from a non-mobile sender taken, not answered", provider)
            return True
        # The delivery that took it may wait for its commit still (SQLite commits a group of
        # units at once): "duplicate" is said only once that taking is on disk, and a taking
        # undone meanwhile (its commit failed, its unit raised) leaves the message new.
        await deps.store.settled()
        if await deps.store.inbound_seen(provider, provider_message_id):
            return False
    raise Busy("an inbound message was taken and undone again and again")


async def _take(
    deps: Deps, provider: str, provider_message_id: str, caller: str, text: str, command: str
) -> bool:
    """Claims and answers the message in one unit of work; False when it was taken already."""
    try:
        async with deps.store.unit_of_work():
            now = deps.clock()
            if not await deps.store.claim_inbound(
                provider, provider_message_id, caller, now, command
            ):
                raise _Taken
            if caller:
                await answer(deps, caller, text)
    except _Taken:
        return False
    return True
