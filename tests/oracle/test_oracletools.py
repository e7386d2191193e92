"""The tool-output normaliser of the Kafka-tools comparisons: it hides what must differ between two
clusters and nothing else, so a real difference still shows (no JVM needed)."""

from __future__ import annotations

import re

from tests.oracle.oracletools import ToolRun, normalise


def test_normalise_hides_ids_paths_and_what_the_test_asks():
    text = "Topic: orders-1a\tTopicId: Xy12AbCdEfGhIjKlMnOpQr\tPartitionCount: 3   \n\n/tmp/k/data/orders-1a-0\n"
    lines = normalise(text, {"/tmp/k/data": "<log.dirs>", "orders-1a": "<topic>"}, [])
    assert lines == ["Topic: <topic>\tTopicId: <id>\tPartitionCount: 3", "<log.dirs>/<topic>-0"]
    clock = (re.compile(r"CreateTime:\d+"), "CreateTime:<ts>")
    assert normalise("CreateTime:1796457044666\tv", {}, [clock]) == ["CreateTime:<ts>\tv"]


def test_a_difference_survives_normalisation():
    kafka = normalise("Partition:0\tOffset:1\th1:v1\tk1\tval1\n", {}, [])
    kavka = normalise("Partition:0\tOffset:1\th1:v2\tk1\tval1\n", {}, [])
    run = ToolRun(kafka, kavka)
    assert run.one_sided() == (["Partition:0\tOffset:1\th1:v1\tk1\tval1"], ["Partition:0\tOffset:1\th1:v2\tk1\tval1"])
    assert ToolRun(kafka, list(kafka)).one_sided() == ([], [])
