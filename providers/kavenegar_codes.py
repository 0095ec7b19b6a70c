"""Kavenegar's code tables, literal, with what each code means.

Sources: Kavenegar's REST docs as quoted by its SDKs (kavenegar-dotnet `MessageStatus`, the Go SDK's
`MessageStatusType`) and by integrations that copy the docs' error list. Where a code's meaning was
not found in any source, the comment says so.
"""

from __future__ import annotations

from typing import Final

from providers.base import DeliveryState, ErrorKind

# Message status: entries[].status (send, sendarray, lookup, status) and the callback `status`.
MESSAGE_STATES: Final[dict[int, DeliveryState]] = {
    1: DeliveryState.QUEUED,  # در صف ارسال: queued at Kavenegar
    2: DeliveryState.QUEUED,  # زمان‌بندی شده: scheduled for a later date
    4: DeliveryState.SENT,  # ارسال شده به مخابرات: handed to the telecom centre
    5: DeliveryState.SENT,  # ارسال شده به مخابرات: handed to the operator
    6: DeliveryState.FAILED,  # failed at the sender line; the SMS did not go out
    10: DeliveryState.DELIVERED,  # رسیده به گیرنده: on the handset
    11: DeliveryState.UNDELIVERED,  # نرسیده: phone off or out of reach until the operator gave up
    13: DeliveryState.FAILED,  # cancelled by the user or failed in sending; cost refunded
    14: DeliveryState.FAILED,  # blocked: the receptor refuses ads lines (filtered); cost refunded
    50: DeliveryState.UNKNOWN,  # "received": a status of inbound messages, not of ours
    100: DeliveryState.UNKNOWN,  # شناسه نامعتبر: unknown id (not in Kavenegar, not ours, or > 48 h)
}

# return.status of a failed call (HTTP status == return.status). The DESIGN's policy, per code.
ERROR_KINDS: Final[dict[int, ErrorKind]] = {
    # Retryable: the provider is busy or the call did not complete; the same call may work later.
    402: "retryable",  # عملیات ناموفق بود: operation failed (no cause given)
    409: "retryable",  # سرور قادر به پاسخگویی نیست: server cannot answer now, try later
    451: "retryable",  # too many calls from this IP in a short time (throttled); not in the SDKs
    # Account: this key/line/credit cannot send now. Fail over to the fallback provider and alert.
    401: "account",  # حساب کاربری غیرفعال: account disabled
    403: "account",  # کد شناسایی API-Key معتبر نیست: invalid API key
    404: "account",  # متدی با این نام پیدا نشده: unknown method, i.e. a wrong base URL
    405: "account",  # wrong HTTP method (GET/POST) for the method: a configuration fault
    407: "account",  # access to this data not allowed for you: the server's IP is not allowed
    416: "account",  # the caller's IP does not match the IPs registered for the key
    418: "account",  # اعتبار حساب شما کافی نیست: not enough credit
    426: "account",  # this method needs the advanced (paid) service
    427: "account",  # meaning not found in the sources: treated as a line/account restriction
    429: "account",  # meaning not found in the sources: treated as a line/account restriction
    430: "account",  # account identity (KYC) not verified in the panel
    501: "account",  # SMS only to the account owner's number: a test (unverified) account
    # Permanent: this message cannot go out as it is; retrying the same request cannot help.
    400: "permanent",  # پارامترها ناقص هستند: missing or broken parameters
    406: "permanent",  # mandatory parameters sent empty
    411: "permanent",  # شماره گیرنده معتبر نیست: invalid receptor
    412: "permanent",  # شماره فرستنده معتبر نیست: invalid sender line
    413: "permanent",  # message empty or too long (612 Latin / 268 Persian characters)
    414: "permanent",  # too many records in one call (200 to send, 500 to query)
    415: "permanent",  # meaning not found in the sources; request-side by its range
    417: "permanent",  # invalid or past send date
    419: "permanent",  # array sizes of receptor/sender/message differ (sendarray)
    422: "permanent",  # text holds characters that cannot be processed
    424: "permanent",  # template not found or not yet approved
    428: "permanent",  # voice (call) lookup needs a digits-only token
    431: "permanent",  # token holds a newline, space, underscore or separator
    432: "permanent",  # the template has no %token parameter
}


def error_kind(status: int) -> ErrorKind:
    """5xx is retryable; an unlisted code is retryable too, so the outbox's attempt limit (not a
    guess) decides when to give up on it."""
    if status >= 500 and status != 501:
        return "retryable"
    return ERROR_KINDS.get(status, "retryable")


UNKNOWN_ID: Final = 100  # the message status of an id Kavenegar does not know


def message_state(status: int) -> DeliveryState:
    return MESSAGE_STATES.get(status, DeliveryState.UNKNOWN)
