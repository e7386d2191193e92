"""The comparison itself: it must see every kind of difference, or the differential tests prove nothing."""

from __future__ import annotations

from tests.oracle.oraclediff import differences, normalise


def test_equal_answers_have_no_differences():
    answer = {"brokers": [{"node_id": 1, "host": "h"}], "topics": [{"name": "a", "partitions": [1, 2]}]}
    assert differences(answer, answer) == []


def test_value_missing_and_extra_entries_are_reported():
    kafka = {"configs": [{"name": "a", "value": "1"}, {"name": "b", "value": "2"}], "x": 1}
    kavka = {"configs": [{"name": "a", "value": "9"}, {"name": "c", "value": "3"}], "y": 1}
    assert differences(kafka, kavka) == [
        "configs[a].value: kafka='1' kavka='9'",
        "configs[b]: kafka only",
        "configs[c]: kavka only",
        "x: kafka only",
        "y: kavka only",
    ]


def test_lists_without_a_key_compare_in_order():
    assert differences({"r": [1, 2]}, {"r": [2, 1]}) == ["r: kafka=[1, 2] kavka=[2, 1]"]
    assert differences([{"v": 1}], [{"v": 2}]) == ["[0].v: kafka=1 kavka=2"]


def test_normalise_hides_identities_but_not_their_absence():
    a = normalise(
        {"cluster_id": "abc", "topic_id": None, "port": 9092, "msg": "t-123 at :9092"},
        {"t-123": "<topic>", ":9092": ":<port>"},
    )
    assert a == {"cluster_id": "<cluster>", "topic_id": None, "port": "<port>", "msg": "<topic> at :<port>"}
