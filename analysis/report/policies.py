"""Which payment policies a report compares, and picking the headline one.

A scenario names policies by kind (``status_quo``, ``full_bundling``, ``lcd_cap``,
``medical_necessity``: :mod:`analysis.policy`); the payers, date and scope of the
scenario apply to each, and the ``lcd_cap`` kind gets its cap.
"""

from __future__ import annotations

from collections.abc import Sequence

from analysis.defaults import EFFECTIVE_DATE, LCD_BENCHMARK, POLICY_PAYERS
from analysis.errors import InputError
from analysis.policy import Policy, get_policy, status_quo

__all__ = ["pick_policy", "scenario_policies"]


def scenario_policies(
    names: Sequence[str],
    *,
    payers: Sequence[str] = POLICY_PAYERS,
    effective_date: str = EFFECTIVE_DATE.isoformat(),
    scope_share: float = 1.0,
    cap_threshold: float = LCD_BENCHMARK,
) -> tuple[Policy, ...]:
    """The policies of a scenario, by kind name (:mod:`analysis.policy`).

    ``status_quo`` takes no options; ``lcd_cap`` gets ``cap_threshold``; every other
    policy gets ``payers``, ``effective_date`` and ``scope_share``.

    Raises
    ------
    InputError
        An unknown policy name or an invalid option.
    """
    common = {"payers": tuple(payers), "effective_date": effective_date,
              "scope_share": scope_share}
    out = []
    for name in names:
        if name == "status_quo":
            out.append(status_quo())
        elif name == "lcd_cap":
            out.append(get_policy(name, threshold=cap_threshold, **common))
        else:
            out.append(get_policy(name, **common))
    return tuple(out)


def pick_policy(policies, name: str):
    """The policy named ``name`` among ``policies``.

    Raises
    ------
    InputError
        No policy of that name (the headline policy must be one of those compared).
    """
    for p in policies:
        if p.name == name:
            return p
    raise InputError(
        f"not among the policies compared ({', '.join(p.name for p in policies)})",
        column="headline_policy", value=name,
    )

