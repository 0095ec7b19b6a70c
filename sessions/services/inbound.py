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
from sessions.services.deps import Deps
from sessions.services.sms_commands import answer
from sessions.validators import InvalidInput, mobile

log = logging.getLogger("dargah.inbound")


class _Taken(Exception):
    """Another delivery of the same message was taken first: undo this one."""


async def handle_inbound(
    deps: Deps, provider: str, provider_message_id: str, sender: str, text: str
) -> bool:
    """True when the message was new and has been answered."""
    try:
        caller = mobile(sender)
    except InvalidInput:
        caller = ""
    # No look before the claim: the claim itself tells a repeat, which it undoes unanswered.
    command = parse(text).command.value if caller else ""
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
    if caller:
        log.info("%s inbound from %s: %s", provider, mask_msisdn(caller), command)
    else:  # a short code or a landline: nothing we could answer by SMS
        log.info("%s inbound from a non-mobile sender taken, not answered", provider)
    return True
