"""Persian SMS templates as data files, their renderer, and the text helpers they share.

Core code: nothing here imports the gateway, channels or providers.
"""

from templates_sms.digits import format_amount, to_ascii_digits, to_persian_digits
from templates_sms.errors import TemplateDefinitionError, TemplateError
from templates_sms.jalali import TEHRAN, jalali_date, jalali_datetime, parse_send_at
from templates_sms.render import DATA_DIR, Breach, TemplateRegistry, load_templates
from templates_sms.template import KIND_PRIORITY, Template

__all__ = [
    "DATA_DIR",
    "KIND_PRIORITY",
    "TEHRAN",
    "Breach",
    "Template",
    "TemplateDefinitionError",
    "TemplateError",
    "TemplateRegistry",
    "format_amount",
    "jalali_date",
    "jalali_datetime",
    "load_templates",
    "parse_send_at",
    "to_ascii_digits",
    "to_persian_digits",
]
