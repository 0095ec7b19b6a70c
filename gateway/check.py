"""`run.py check`: every USSD screen and every SMS template against its telecom budget."""

from __future__ import annotations

from sessions.check import check_screens


def run_check(verbose: bool = False) -> int:
    reports = check_screens()
    breaches = [r.breach for r in reports if r.breach]
    if verbose:
        for r in reports:
            print(f"{r.where} [{r.lang}] {len(r.pages)} page(s)")
    for breach in breaches:
        print(f"BREACH {breach}")
    print(f"screens: {len(reports)} checked, {len(breaches)} over budget")
    return 1 if breaches else 0
