"""Every report folder a test publishes is attacked before the test goes on.

:func:`disclosure_attack.attack` tries to recover each suppressed cell from everything
published in the folder; a recovery fails the run that published it.
"""

from __future__ import annotations

import pytest
from disclosure_attack import attack, report

from analysis.run import batch

#: Report folders attacked in this session (a test checks that the hook runs).
ATTACKED: list[str] = []


@pytest.fixture(autouse=True, scope="session")
def attack_every_published_report():
    """Session-wide, so that reports built by module-scoped fixtures are attacked too."""
    publish = batch.publish

    def publish_and_attack(stage, out):
        found = attack(stage)
        ATTACKED.append(str(out))
        assert not found, f"{out}: suppressed cells recovered:\n{report(found)}"
        publish(stage, out)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batch, "publish", publish_and_attack)
        yield
