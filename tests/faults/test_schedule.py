"""The seeded fault schedule: one seed, one schedule; faults never overlap and stay inside the run."""

from __future__ import annotations

import pytest

from tests.faults.schedule import KINDS, make_schedule


def test_the_same_seed_gives_the_same_schedule_and_another_seed_another():
    a = make_schedule(7, [1, 2, 3], 90, KINDS, partitions=3)
    assert a == make_schedule(7, [1, 2, 3], 90, KINDS, partitions=3)
    assert a != make_schedule(8, [1, 2, 3], 90, KINDS, partitions=3)


@pytest.mark.parametrize("seed", range(50))
def test_faults_are_sequential_inside_the_run_and_each_kind_appears(seed):
    faults = make_schedule(seed, [1, 2, 3, 4, 5], 120, KINDS, partitions=4)
    assert {f.kind for f in faults} == set(KINDS)
    assert faults[0].at >= 5.0 and faults[-1].at + faults[-1].duration <= 115.0
    for before, after in zip(faults, faults[1:]):
        assert after.at >= before.at + before.duration + 2.0
    for f in faults:
        if f.kind == "partition":
            assert len(set(f.nodes)) == 2
        elif f.kind in ("kill", "pause", "isolate"):
            assert len(f.nodes) == 1 and f.nodes[0] in range(1, 6)
        else:
            assert f.partition in range(4) and not f.nodes


def test_unknown_kinds_and_network_faults_on_one_node_are_refused():
    with pytest.raises(ValueError, match="unknown fault kinds"):
        make_schedule(1, [1, 2, 3], 60, ["flood"])
    with pytest.raises(ValueError, match="two nodes"):
        make_schedule(1, [1], 60, ["partition"])
    assert make_schedule(1, [1], 60, []) == []
