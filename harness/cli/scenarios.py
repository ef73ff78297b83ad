"""``python -m harness scenarios``: list the scenarios in scenarios/."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("scenarios", help="list the scenarios in scenarios/")
    p.set_defaults(run=run)


def run(args) -> dict:
    from harness.scenario import list_scenarios

    names = list_scenarios()
    for n in names:
        print(n)
    return {"scenarios": names}
