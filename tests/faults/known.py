"""Known gaps the fault suite runs into, one marker each, so the day one closes its tests XPASS (strict)
and the marker is removed in one place.

- `NEEDS_REPLICATION`: RF=3 partitions do not replicate yet (issue 15: followers, the ISR, elections).
- `RESTART_LOSES_LOGS`: a restarted cluster node deletes the logs of its partitions at startup
  (`Broker.startup` publishes the image before the node has caught up with the metadata log, and
  `_publish` deletes every log of a topic that image does not hold). Found by the fault suite (seed 2,
  kill -9 on RF=1); regression test: test_regressions.py.
- `TXN_ACROSS_BROKERS`: a transactional record for a partition led by a broker other than the
  transaction coordinator's is never acknowledged (it times out in the client), so a transactional
  producer on a cluster of several brokers cannot commit (issue 15, the transactions part).
"""

from __future__ import annotations

import pytest

NEEDS_REPLICATION = pytest.mark.xfail(strict=True, reason="RF=3 partitions do not replicate yet (issue 15)")
RESTART_LOSES_LOGS = pytest.mark.xfail(
    strict=True, reason="a restarted cluster node deletes its partitions' logs at startup (see tests/faults/known.py)"
)
TXN_ACROSS_BROKERS = pytest.mark.xfail(
    strict=True, reason="transactions whose partitions sit on another broker than their coordinator never commit"
)
