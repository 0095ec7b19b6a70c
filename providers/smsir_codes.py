"""sms.ir REST v1 code tables, literal, with what each code means.

Source: sms.ir's REST documentation (sms.ir/rest-api) as summarised by public integrations. Every
answer is `{"status": <code>, "message": "…", "data": …}`; status 1 is success. HTTP 401 comes with
a bad key, 429 when throttled, 5xx when the service fails.
"""

from __future__ import annotations

from typing import Final

from providers.base import DeliveryState, ErrorKind

OK: Final = 1

# The `status` of a failed answer.
ERROR_KINDS: Final[dict[int, ErrorKind]] = {
    0: "retryable",  # system problem, contact support: a fault on their side
    20: "retryable",  # too many requests: throttled
    10: "account",  # invalid API key
    11: "account",  # API key disabled
    12: "account",  # key restricted to other IPs
    13: "account",  # user account inactive
    14: "account",  # user account suspended
    101: "account",  # invalid sender line: a configuration fault, another provider may send
    102: "account",  # not enough credit
    119: "account",  # the plan must be upgraded for custom templates
    123: "account",  # the sender line must be activated first
    103: "permanent",  # empty message text
    104: "permanent",  # invalid mobile number(s)
    105: "permanent",  # more than 100 mobiles in one call
    106: "permanent",  # more than 100 texts in one call
    107: "permanent",  # mobile list empty
    108: "permanent",  # text list empty
    109: "permanent",  # invalid send time
    110: "permanent",  # mobile and text counts differ (likeToLike)
    111: "permanent",  # no send found for this id (a report, not a send)
    112: "permanent",  # nothing to delete (scheduled pack)
    113: "permanent",  # template not found
    114: "permanent",  # a template parameter value is longer than 25 characters
    115: "permanent",  # the mobile is on the blacklist
    116: "permanent",  # a template parameter name is empty
    117: "permanent",  # text not approved
    118: "permanent",  # message count over the allowed limit
}

# HTTP statuses that come without a usable envelope.
HTTP_KINDS: Final[dict[int, ErrorKind]] = {
    401: "account",  # authentication failed (bad or missing X-API-KEY)
    403: "account",
    429: "retryable",  # throttled
}

# `deliveryState` of GET /v1/send/{messageId}.
DELIVERY_STATES: Final[dict[int, DeliveryState]] = {
    1: DeliveryState.DELIVERED,  # delivered to the handset
    2: DeliveryState.UNDELIVERED,  # not delivered to the handset
    3: DeliveryState.SENT,  # processing at the operator
    4: DeliveryState.FAILED,  # never reached the operator
    5: DeliveryState.SENT,  # reached the operator
    6: DeliveryState.FAILED,  # error
    7: DeliveryState.FAILED,  # blacklisted receptor
}


def error_kind(status: int) -> ErrorKind:
    # Unlisted codes retry: the outbox's attempt limit decides when to give up, not a guess.
    return ERROR_KINDS.get(status, "retryable")


def http_kind(http_status: int) -> ErrorKind:
    if http_status >= 500:
        return "retryable"
    return HTTP_KINDS.get(http_status, "retryable")


def delivery_state(code: int | None) -> DeliveryState:
    if code is None:
        return DeliveryState.QUEUED  # no state yet: still on its way
    return DELIVERY_STATES.get(code, DeliveryState.UNKNOWN)
