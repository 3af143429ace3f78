import pytest

from heron.domain.status import settled_status
from heron.domain.verdicts import ActionStatus as A
from heron.domain.verdicts import InvestigationStatus as S
from heron.domain.verdicts import Verdict as V


@pytest.mark.parametrize(
    ("verdict", "actions", "expected"),
    [
        (V.CLEAN, [], S.NO_THREATS_FOUND),
        (V.UNKNOWN, [], S.NO_THREATS_FOUND),
        (V.SUSPICIOUS, [], S.PARTIALLY_INVESTIGATED),
        (V.MALICIOUS, [A.PENDING, A.COMPLETED], S.PENDING_ACTION),
        (V.MALICIOUS, [A.APPROVED], S.PENDING_ACTION),
        (V.MALICIOUS, [A.COMPLETED, A.COMPLETED], S.REMEDIATED),
        (V.MALICIOUS, [A.COMPLETED, A.REJECTED], S.PARTIALLY_REMEDIATED),
        (V.MALICIOUS, [A.COMPLETED, A.FAILED], S.PARTIALLY_REMEDIATED),
        (V.MALICIOUS, [A.EXPIRED, A.EXPIRED], S.TERMINATED_BY_SYSTEM),
        (V.MALICIOUS, [A.REJECTED, A.EXPIRED], S.TERMINATED_BY_USER),
        (V.MALICIOUS, [A.UNDONE], S.TERMINATED_BY_USER),
        (V.MALICIOUS, [A.FAILED], S.FAILED),
    ],
)
def test_settled_status_follows_verdict_and_actions(verdict, actions, expected):
    assert settled_status(verdict, actions) is expected
