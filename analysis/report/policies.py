"""Which payment policies a report compares, and picking the headline one.

A scenario names policies by kind (``status_quo``, ``full_bundling``, ``lcd_cap``,
``medical_necessity``: :mod:`analysis.policy`); the payers, date and scope of the
scenario apply to each, and the ``lcd_cap`` kind gets its cap.
"""

from __future__ import annotations

from collections.abc import Sequence

from analysis.defaults import EFFECTIVE_DATE, LCD_BENCHMARK, POLICY_PAYERS
from analysis.errors import InputError
from analysis.policy import Policy, policies_from_names

__all__ = ["pick_policy", "scenario_policies"]


def scenario_policies(
    names: Sequence[str],
    *,
    payers: Sequence[str] = POLICY_PAYERS,
    effective_date: str = EFFECTIVE_DATE.isoformat(),
    scope_share: float = 1.0,
    cap_threshold: float = LCD_BENCHMARK,
) -> tuple[Policy, ...]:
    """The policies of a scenario, by kind name: :func:`analysis.policy.policies_from_names`
    with the scenario's payers, date, scope and cap (``status_quo`` takes none of them).

    Raises
    ------
    InputError
        An unknown policy name or an invalid option.
    """
    return policies_from_names(names, payers=payers, effective_date=effective_date,
                               scope_share=scope_share, cap_threshold=cap_threshold)


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

