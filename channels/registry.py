"""The USSD dialects the gateway speaks, by the name in `POST /ussd/{dialect}`."""

from __future__ import annotations

from channels.africastalking import AfricasTalking
from channels.hubtel import Hubtel
from channels.json_dialect import JsonDialect
from channels.models import Dialect
from channels.nalo import Nalo

DIALECTS: dict[str, Dialect] = {
    "africastalking": AfricasTalking(),
    "json": JsonDialect(),
    "hubtel": Hubtel(),
    "nalo": Nalo(),
}
