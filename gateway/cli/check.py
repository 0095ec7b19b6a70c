"""`run.py check`: every USSD screen and every SMS template against its telecom budget, and every
parameter a caller may fill typed more narrowly than free text."""

from __future__ import annotations

from sessions.check import check_screens
from templates_sms import load_templates


def run_check(verbose: bool = False) -> int:
    reports = check_screens()
    screen_breaches = [r.breach for r in reports if r.breach]
    templates = load_templates()
    sms_breaches = [str(b) for b in templates.check()]
    untyped = templates.untyped()
    if verbose:
        for r in reports:
            print(f"{r.where} [{r.lang}] {len(r.pages)} page(s)")
    for breach in [*screen_breaches, *sms_breaches]:
        print(f"BREACH {breach}")
    for problem in untyped:
        print(f"UNTYPED {problem}")
    print(f"screens: {len(reports)} checked, {len(screen_breaches)} over budget")
    print(f"sms templates: {len(templates)} checked, {len(sms_breaches)} over budget")
    print(f"caller templates: {len(untyped)} untyped parameter(s)")
    return 1 if screen_breaches or sms_breaches or untyped else 0
