"""`run.py check`: every USSD screen and every SMS template against its telecom budget."""

from __future__ import annotations

from sessions.check import check_screens
from templates_sms import load_templates


def run_check(verbose: bool = False) -> int:
    reports = check_screens()
    screen_breaches = [r.breach for r in reports if r.breach]
    templates = load_templates()
    sms_breaches = [str(b) for b in templates.check()]
    if verbose:
        for r in reports:
            print(f"{r.where} [{r.lang}] {len(r.pages)} page(s)")
    for breach in [*screen_breaches, *sms_breaches]:
        print(f"BREACH {breach}")
    print(f"screens: {len(reports)} checked, {len(screen_breaches)} over budget")
    print(f"sms templates: {len(templates)} checked, {len(sms_breaches)} over budget")
    return 1 if screen_breaches or sms_breaches else 0
