"""Which revisions the KPA owns (rulebook.retirement): one table."""

from __future__ import annotations

import pytest

from rulebook.retirement import autoscaled


@pytest.mark.parametrize(
    ("routed", "latest", "ever_ready", "expected"),
    [
        (True, False, True, True),  # routed: owned
        (True, True, True, True),
        (True, False, False, True),
        (None, False, True, True),  # route unknown (no Service in view): kept
        (None, None, False, True),
        (False, True, False, True),  # the latest, coming up: owned before it is routed
        (False, None, False, True),  # never ready and maybe the latest: kept
        (False, True, True, False),  # latest and ready but traffic pinned elsewhere: retired
        (False, False, True, False),  # traffic left it: retired
        (False, False, False, False),  # an older revision that never came up: retired
    ],
)
def test_autoscaled(
    routed: bool | None, latest: bool | None, ever_ready: bool, expected: bool
) -> None:
    assert autoscaled(routed=routed, latest=latest, ever_ready=ever_ready) is expected
