"""Inbound SMS, from a provider's callback or its inbox poller: deduplicated by the provider's
message id, then answered by the keyword services."""

from __future__ import annotations

import logging

from sessions.masking import mask_msisdn
from sessions.services.deps import Deps
from sessions.services.sms_commands import answer
from sessions.validators import InvalidInput, mobile

log = logging.getLogger("dargah.inbound")


async def handle_inbound(
    deps: Deps, provider: str, provider_message_id: str, sender: str, text: str
) -> bool:
    """True when the message was new and has been answered."""
    try:
        caller = mobile(sender)
    except InvalidInput:
        caller = ""
    if not await deps.store.claim_inbound(provider, provider_message_id, caller, deps.clock()):
        return False
    if not caller:  # a short code or a landline: nothing we could answer by SMS
        log.info("%s inbound from a non-mobile sender ignored", provider)
        return True
    # The claim commits before answer() writes the reply to the outbox, so a concurrent repeat of
    # this message is refused meanwhile. Should answer() raise, the claim is released and the
    # error goes on: the callback fails (500, or 503 when busy) and the provider's retry is
    # answered. A hard crash of the process between the claim and the reply still drops that one
    # reply: at most once.
    try:
        parsed = await answer(deps, caller, text)
    except BaseException:
        await _release(deps, provider, provider_message_id)
        raise
    await deps.store.note_inbound_command(provider, provider_message_id, parsed.command.value)
    log.info("%s inbound from %s: %s", provider, mask_msisdn(caller), parsed.command.value)
    return True


async def _release(deps: Deps, provider: str, provider_message_id: str) -> None:
    try:
        await deps.store.release_inbound(provider, provider_message_id)
    except Exception:
        log.exception("%s inbound: releasing the claim of a failed answer failed", provider)
