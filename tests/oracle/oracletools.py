"""Run one of Kafka's command-line tools against Apache Kafka and against Kavka at once, and normalise
the output of both so that lines can be compared.

`both` starts the two JVMs together (a tool run is about a second of JVM start-up, so the tests keep
their runs few). Each side's output has its own ports, data directory and cluster id replaced by
placeholders, then the scenario's `renames` (topic and group names), then the `subs` regular
expressions (timestamps, member ids: whatever must differ between two clusters).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

TOOLS = "org.apache.kafka.tools."
_TOPIC_ID = (re.compile(r"(TopicId: )\S+"), r"\1<id>")


@dataclass
class ToolRun:
    """One tool's normalised output on each side, and both exit codes."""

    kafka: list[str]
    kavka: list[str]
    codes: tuple[int, int] = (0, 0)
    stderr: tuple[str, str] = field(default=("", ""), repr=False)

    def one_sided(self) -> tuple[list[str], list[str]]:
        """(lines only Kafka printed, lines only Kavka printed)."""
        return [x for x in self.kafka if x not in self.kavka], [x for x in self.kavka if x not in self.kafka]


def _side_renames(target) -> dict[str, str]:
    names = {str(target.data_dir): "<log.dirs>", target.bootstrap: "<bootstrap>"}
    cluster_id = getattr(target, "cluster_id", None)
    if cluster_id:
        names[cluster_id] = "<cluster-id>"
    return names


def normalise(text: str, renames: dict[str, str], subs: Sequence[tuple[re.Pattern[str], str]]) -> list[str]:
    for old, new in renames.items():
        text = text.replace(old, new)
    for pattern, repl in (_TOPIC_ID, *subs):
        text = pattern.sub(repl, text)
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def both(
    apache_kafka,
    broker,
    main: str,
    args: Sequence[str],
    renames: dict[str, str] | None = None,
    *,
    stdin: str | None = None,
    subs: Sequence[tuple[re.Pattern[str], str]] = (),
    bootstrap: bool = True,
    check: bool = True,
    stderr: bool = False,
    side_args: tuple[Sequence[str], Sequence[str]] | None = None,
) -> ToolRun:
    """Run ``org.apache.kafka.tools.<main>`` against each broker at once.

    With ``bootstrap`` the tool gets ``--bootstrap-server`` of its side first. ``side_args`` (Kafka's,
    Kavka's) are appended to ``args`` per side (file paths for kafka-dump-log). With ``check`` a
    non-zero exit fails the test with the tool's stderr; with ``stderr`` its stderr lines are compared
    too (appended after stdout's).
    """
    extra = renames or {}
    targets = (apache_kafka, broker)

    def run(i: int):
        target = targets[i]
        argv = [*(["--bootstrap-server", target.bootstrap] if bootstrap else []), *args]
        if side_args is not None:
            argv += list(side_args[i])
        done = apache_kafka.run_tool(TOOLS + main, argv, stdin=stdin)
        if check and done.returncode != 0:
            pytest.fail(f"{main} {argv} against {target.bootstrap}: exit {done.returncode}\n{done.stderr[-3000:]}")
        text = done.stdout + (done.stderr if stderr else "")
        names = {**_side_renames(target), **extra}
        return normalise(text, names, subs), done.returncode, done.stderr

    with ThreadPoolExecutor(2) as pool:
        (kafka, kafka_code, kafka_err), (kavka, kavka_code, kavka_err) = pool.map(run, (0, 1))
    return ToolRun(kafka, kavka, (kafka_code, kavka_code), (kafka_err, kavka_err))
