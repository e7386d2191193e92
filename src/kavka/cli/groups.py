"""``kavka groups list | describe | reset-offsets | delete``: Kafka's ``kafka-consumer-groups.sh``.

- ``describe`` shows, per partition, the committed offset, the log end offset, the lag and the member
  it is assigned to (Kafka's default view, plus a row for each member without partitions), after a
  summary line with the group's state, assignor, member count and total lag; ``--members`` and
  ``--state`` give Kafka's other two views. The assignor (Kafka's ASSIGNMENT-STRATEGY, its admin
  API's ``partitionAssignor``) reads ``none`` when the group has none, as on the console's pages.
- ``reset-offsets`` plans new committed offsets (``--to-earliest``, ``--to-latest``, ``--to-current``,
  ``--to-offset``, ``--shift-by``, ``--to-datetime``, ``--by-duration``), always clamped to the log's
  [start, end], and prints the plan; only ``--execute`` commits it. As Kafka does, it refuses a group
  that has active members (any state but Empty or Dead), dry run or not.
- ``--output json`` (list, describe, reset-offsets, delete) prints one JSON document on stdout for
  scripts; errors still go to stderr with exit code 1.
"""

from __future__ import annotations

import json
import re
from typing import Any

import click

from kavka.cli.common import ClientSettings, CliError, client_options, kafka_error_text, parse_time, result

__all__ = ["groups"]

_STATE_NAMES = {
    "UNKNOWN": "Unknown",
    "PREPARING_REBALANCING": "PreparingRebalance",
    "COMPLETING_REBALANCING": "CompletingRebalance",
    "STABLE": "Stable",
    "DEAD": "Dead",
    "EMPTY": "Empty",
}


def _state(state: Any) -> str:
    name = getattr(state, "name", str(state))
    return _STATE_NAMES.get(name, name.title())


def _output_option(func: Any) -> Any:
    return click.option(
        "--output",
        "-o",
        "output",
        type=click.Choice(["table", "json"]),
        default="table",
        show_default=True,
        help="Render tables, or one JSON document for scripts.",
    )(func)


def _echo_json(doc: Any) -> None:
    click.echo(json.dumps(doc, indent=2))


def _type(group_type: Any) -> str | None:
    name = getattr(group_type, "name", None)
    return None if name in (None, "UNKNOWN") else name.lower()


def _console() -> Any:
    """stdout as a rich Console; when it is not a terminal, never folds a long member id or topic name."""
    from kavka.cli.common import stdout_console

    console = stdout_console()
    if not console.is_terminal:
        console.width = max(console.width, 1000)
    return console


def _require_group_apis(admin: Any, client: ClientSettings) -> list[Any]:
    """List groups, which doubles as the probe that the broker serves the group APIs at all."""
    listing = result(admin.list_consumer_groups(request_timeout=client.timeout), client)
    for err in listing.errors:
        if getattr(err, "name", lambda: "")() == "_UNSUPPORTED_FEATURE":
            raise CliError(f"The broker at {client.bootstrap} does not support consumer groups (ListGroups).")
    if listing.errors and not listing.valid:
        raise CliError(kafka_error_text(listing.errors[0]))
    return list(listing.valid)


def _describe(admin: Any, client: ClientSettings, group: str) -> Any:
    from confluent_kafka import KafkaException

    try:
        return result(admin.describe_consumer_groups([group], request_timeout=client.timeout)[group], client)
    except KafkaException as e:
        raise CliError(f"Cannot describe group '{group}': {kafka_error_text(e.args[0])}") from None


def _committed(admin: Any, client: ClientSettings, group: str) -> dict[tuple[str, int], int]:
    from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException

    try:
        fut = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)], request_timeout=client.timeout)[
            group
        ]
        got = result(fut, client)
    except KafkaException as e:
        raise CliError(f"Cannot fetch the offsets of group '{group}': {kafka_error_text(e.args[0])}") from None
    return {(tp.topic, tp.partition): tp.offset for tp in got.topic_partitions or [] if tp.offset >= 0}


def _log_offsets(admin: Any, client: ClientSettings, tps: list[Any], spec: Any) -> dict[tuple[str, int], int]:
    from confluent_kafka import KafkaException

    if not tps:
        return {}
    out = {}
    for tp, fut in admin.list_offsets({tp: spec for tp in tps}, request_timeout=client.timeout).items():
        try:
            out[(tp.topic, tp.partition)] = result(fut, client).offset
        except KafkaException:
            pass
    return out


@click.group(short_help="List, describe, reset, delete consumer groups.")
def groups() -> None:
    """List, describe, reset and delete consumer groups (kafka-consumer-groups.sh).

    \b
    Examples:
      kavka groups list
      kavka groups describe billing
      kavka groups describe billing --members
      kavka groups describe billing --output json | jq '.[0].total_lag'
      kavka groups reset-offsets billing --topic orders --to-earliest            # dry run
      kavka groups reset-offsets billing --topic orders:0,1 --shift-by -10 --execute
      kavka groups delete billing
    """


@groups.command(name="list")
@click.option("--state", "show_state", is_flag=True, help="Also show each group's state (a table).")
@_output_option
@client_options
def list_(show_state, output, client: ClientSettings):
    """Print the id of each consumer group, one per line."""
    from kavka.cli.common import table

    admin = client.admin()
    client.metadata(admin)
    listings = sorted(_require_group_apis(admin, client), key=lambda g: g.group_id)
    if output == "json":
        _echo_json(
            [
                {
                    "group": g.group_id,
                    "state": _state(g.state),
                    "type": _type(getattr(g, "type", None)),
                    "simple": bool(g.is_simple_consumer_group),
                }
                for g in listings
            ]
        )
        return
    if not show_state:
        for g in listings:
            click.echo(g.group_id)
        return
    t = table("GROUP", "STATE")
    for g in listings:
        t.add_row(g.group_id, _state(g.state))
    _console().print(t)


def _group_report(admin: Any, client: ClientSettings, group: str, desc: Any, offsets: bool = True) -> dict[str, Any]:
    """Everything ``describe`` shows of one group, as the JSON document ``--output json`` prints
    (``offsets=False``: without the committed and log end offsets, which --members and --state skip)."""
    from confluent_kafka import TopicPartition
    from confluent_kafka.admin import OffsetSpec

    members = []
    owner: dict[tuple[str, int], dict[str, Any]] = {}
    for m in desc.members:
        tps = sorted((tp.topic, tp.partition) for tp in (m.assignment.topic_partitions if m.assignment else []))
        member = {
            "member_id": m.member_id,
            "group_instance_id": m.group_instance_id,
            "client_id": m.client_id,
            "host": m.host,
            "assignment": [{"topic": t, "partition": p} for t, p in tps],
        }
        members.append(member)
        for key in tps:
            owner[key] = member
    committed = _committed(admin, client, group) if offsets else {}
    keys = sorted(set(committed) | set(owner)) if offsets else []
    ends = _log_offsets(admin, client, [TopicPartition(t, p) for t, p in keys], OffsetSpec.latest())
    rows = []
    for key in keys:
        cur, end, m = committed.get(key), ends.get(key), owner.get(key)
        rows.append(
            {
                "topic": key[0],
                "partition": key[1],
                "current_offset": cur,
                "log_end_offset": end,
                "lag": None if cur is None or end is None else max(0, end - cur),
                "member_id": m and m["member_id"],
                "client_id": m and m["client_id"],
                "host": m and m["host"],
            }
        )
    c = desc.coordinator
    return {
        "group": group,
        "state": _state(desc.state),
        "type": _type(getattr(desc, "type", None)),
        "protocol": desc.partition_assignor or None,
        "coordinator": None if c is None else {"id": c.id, "host": c.host, "port": c.port},
        "members": members,
        "offsets": rows,
        "total_lag": sum(o["lag"] for o in rows if o["lag"] is not None),
    }


@groups.command(short_help="Show each group's state, members and lag.")
@click.argument("names", nargs=-1, metavar="[GROUP]...")
@click.option("--all-groups", is_flag=True, help="Describe every group.")
@click.option("--members", "view_members", is_flag=True, help="Show members and their assignments.")
@click.option("--state", "view_state", is_flag=True, help="Show state, coordinator and assignor.")
@_output_option
@client_options
def describe(names, all_groups, view_members, view_state, output, client: ClientSettings):
    """Describe groups: a summary line (state, assignor, members, total lag), then per partition the
    committed offset, log end offset, lag and owning member. --output json gives all of it as a list."""
    from kavka.cli.common import table

    if not names and not all_groups:
        raise click.UsageError("give one or more GROUP, or --all-groups")
    admin = client.admin()
    client.metadata(admin)
    known = {g.group_id for g in _require_group_apis(admin, client)}
    selected = sorted(known) if all_groups else list(dict.fromkeys(names))
    console = _console()
    missing = False
    reports = []
    for group in selected:
        desc = _describe(admin, client, group)
        state = _state(desc.state)
        if state == "Dead" or (group not in known and not desc.members and state in ("Dead", "Unknown")):
            click.echo(f"Error: Consumer group '{group}' does not exist.", err=True)
            missing = True
            continue
        report = _group_report(admin, client, group, desc, offsets=output == "json" or not (view_state or view_members))
        reports.append(report)
        if output == "json":
            continue
        members = report["members"]
        if view_state:
            t = table("GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS")
            c = report["coordinator"]
            t.add_row(
                group,
                f"{c['host']}:{c['port']} ({c['id']})" if c is not None else "-",
                report["protocol"] or "none",
                state,
                str(len(members)),
            )
            console.print(t)
            continue
        if view_members:
            t = table("GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS", "ASSIGNMENT")
            for m in members:
                t.add_row(
                    group,
                    m["member_id"],
                    m["host"],
                    m["client_id"],
                    str(len(m["assignment"])),
                    _assignment_text(m["assignment"]),
                )
            if not members:
                console.print(f"Consumer group '{group}' has no active members.", markup=False)
            else:
                console.print(t)
            continue
        console.print(
            f"Consumer group '{group}': state {state}, assignor {report['protocol'] or 'none'}, "
            f"{len(members)} member(s), total lag {report['total_lag']}",
            markup=False,
        )
        if not members:
            console.print(f"Consumer group '{group}' has no active members.", markup=False)
        t = table(
            "GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"
        )
        for o in report["offsets"]:
            t.add_row(
                group,
                o["topic"],
                str(o["partition"]),
                _dash(o["current_offset"]),
                _dash(o["log_end_offset"]),
                _dash(o["lag"]),
                _dash(o["member_id"]),
                _dash(o["host"]),
                _dash(o["client_id"]),
            )
        for m in members:  # members without partitions, as Kafka lists them
            if not m["assignment"]:
                t.add_row(group, "-", "-", "-", "-", "-", m["member_id"], m["host"], m["client_id"])
        console.print(t)
    if output == "json":
        _echo_json(reports)
    if missing:
        raise SystemExit(1)


def _dash(value: Any) -> str:
    return "-" if value is None else str(value)


def _assignment_text(tps: list[dict[str, Any]]) -> str:
    by_topic: dict[str, list[int]] = {}
    for tp in tps:
        by_topic.setdefault(tp["topic"], []).append(tp["partition"])
    return ", ".join(f"{t}({','.join(map(str, sorted(ps)))})" for t, ps in sorted(by_topic.items())) or "-"


_DURATION = re.compile(r"^(-)?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$", re.IGNORECASE)


def _duration_ms(text: str) -> int:
    """ISO 8601 duration (``PnDTnHnMn.nS``, as Kafka's --by-duration) -> milliseconds."""
    m = _DURATION.match(text.strip())
    if not m or text.strip().upper() in ("P", "PT", "-P", "-PT"):
        raise click.BadParameter(
            f"{text!r} is not an ISO 8601 duration such as PT1H30M or P1D", param_hint="--by-duration"
        )
    neg, d, h, mi, s = m.groups()
    ms = int((int(d or 0) * 86400 + int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0)) * 1000)
    return -ms if neg else ms


@groups.command(name="reset-offsets", short_help="Plan or commit new offsets for a GROUP.")
@click.argument("group")
@click.option(
    "--topic",
    "topic_specs",
    multiple=True,
    metavar="TOPIC[:P,P]",
    help="The topic (optionally some partitions) to reset; repeatable.",
)
@click.option("--all-topics", is_flag=True, help="Every topic the group has committed offsets for.")
@click.option("--to-earliest", is_flag=True, help="To the log start offset.")
@click.option("--to-latest", is_flag=True, help="To the log end offset.")
@click.option("--to-current", is_flag=True, help="To the committed offset (the log end where none).")
@click.option("--to-offset", type=int, default=None, help="To this offset.")
@click.option("--shift-by", type=int, default=None, help="Move the committed offset by N (may be negative).")
@click.option(
    "--to-datetime",
    default=None,
    metavar="YYYY-MM-DDTHH:mm:SS.sss",
    help="To the first offset at or after this time (local time unless a zone is given).",
)
@click.option("--by-duration", default=None, metavar="PnDTnHnMnS", help="To the first offset this long ago.")
@click.option("--dry-run", is_flag=True, help="Only print the new offsets (the default).")
@click.option("--execute", is_flag=True, help="Commit the new offsets.")
@_output_option
@client_options
def reset_offsets(
    group,
    topic_specs,
    all_topics,
    to_earliest,
    to_latest,
    to_current,
    to_offset,
    shift_by,
    to_datetime,
    by_duration,
    dry_run,
    execute,
    output,
    client: ClientSettings,
):
    """Plan (and with --execute, commit) new offsets for an inactive GROUP.

    \b
    Examples:
      kavka groups reset-offsets billing --topic orders --to-earliest --dry-run
      kavka groups reset-offsets billing --topic orders:0 --to-offset 42 --execute
      kavka groups reset-offsets billing --all-topics --to-datetime 2024-01-31T12:00:00Z --execute
      kavka groups reset-offsets billing --topic orders --shift-by -10 --execute --output json
    """
    import time

    from confluent_kafka.admin import OffsetSpec

    from kavka.cli.common import table

    scenarios = [
        to_earliest,
        to_latest,
        to_current,
        to_offset is not None,
        shift_by is not None,
        to_datetime is not None,
        by_duration is not None,
    ]
    if sum(scenarios) != 1:
        raise click.UsageError(
            "give exactly one of --to-earliest, --to-latest, --to-current, --to-offset, "
            "--shift-by, --to-datetime, --by-duration"
        )
    if bool(topic_specs) == all_topics:
        raise click.UsageError("give --topic (repeatable) or --all-topics")
    if dry_run and execute:
        raise click.UsageError("--dry-run and --execute exclude each other")
    timestamp = None
    if to_datetime is not None:
        timestamp = parse_time(to_datetime)
    elif by_duration is not None:
        timestamp = int(time.time() * 1000) - _duration_ms(by_duration)

    admin = client.admin()
    md = client.metadata(admin)
    _require_group_apis(admin, client)
    desc = _describe(admin, client, group)
    state = _state(desc.state)
    if state not in ("Empty", "Dead"):  # Kafka refuses a dry run of an active group too
        raise CliError(
            f"Assignments can only be reset if the group '{group}' is inactive, but the current state is {state}."
        )
    committed = _committed(admin, client, group)
    tps = _reset_partitions(md, topic_specs, all_topics, committed)
    keys = [(tp.topic, tp.partition) for tp in tps]
    earliest = _log_offsets(admin, client, tps, OffsetSpec.earliest())
    latest = _log_offsets(admin, client, tps, OffsetSpec.latest())
    at_time = _log_offsets(admin, client, tps, OffsetSpec.for_timestamp(timestamp)) if timestamp is not None else {}
    plan: dict[tuple[str, int], int] = {}
    for key in keys:
        if key not in earliest or key not in latest:
            raise CliError(f"Cannot read the offsets of partition {key[0]}-{key[1]}.")
        lo, hi = earliest[key], latest[key]
        if to_earliest:
            new = lo
        elif to_latest:
            new = hi
        elif to_current:
            new = committed.get(key, hi)
        elif to_offset is not None:
            new = to_offset
        elif shift_by is not None:
            if key not in committed:
                raise CliError(
                    f"Cannot shift offset for partition {key[0]}-{key[1]} since there is no current committed offset."
                )
            new = committed[key] + shift_by
        else:
            found = at_time.get(key, -1)
            new = found if found >= 0 else hi
        plan[key] = min(max(new, lo), hi)

    if execute:
        _commit_plan(admin, client, group, keys, plan)
    if output == "json":
        _echo_json(
            {
                "group": group,
                "executed": bool(execute),
                "partitions": [
                    {"topic": t, "partition": p, "previous_offset": committed.get((t, p)), "new_offset": plan[(t, p)]}
                    for t, p in keys
                ],
            }
        )
        return
    t = table("GROUP", "TOPIC", "PARTITION", "NEW-OFFSET")
    for key in keys:
        t.add_row(group, key[0], str(key[1]), str(plan[key]))
    _console().print(t)
    if not execute:
        click.echo("(dry run: nothing committed; add --execute to commit these offsets)", err=True)


def _commit_plan(
    admin: Any, client: ClientSettings, group: str, keys: list[tuple[str, int]], plan: dict[tuple[str, int], int]
) -> None:
    from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition

    request = ConsumerGroupTopicPartitions(group, [TopicPartition(t, p, plan[(t, p)]) for t, p in keys])
    try:
        done = result(admin.alter_consumer_group_offsets([request], request_timeout=client.timeout)[group], client)
    except KafkaException as e:
        raise CliError(f"Cannot commit the new offsets of group '{group}': {kafka_error_text(e.args[0])}") from None
    errors = [tp for tp in done.topic_partitions or [] if tp.error is not None]
    if errors:
        raise CliError(
            f"Cannot commit the offset of {errors[0].topic}-{errors[0].partition}: {kafka_error_text(errors[0].error)}"
        )


def _reset_partitions(
    md: Any, topic_specs: tuple[str, ...], all_topics: bool, committed: dict[tuple[str, int], int]
) -> list[Any]:
    from confluent_kafka import TopicPartition

    if all_topics:
        return [TopicPartition(t, p) for t, p in sorted(committed)]
    tps = []
    for spec in topic_specs:
        topic, _, parts = spec.partition(":")
        tmd = md.topics.get(topic)
        if tmd is None or not tmd.partitions:
            raise CliError(f"Topic '{topic}' does not exist.")
        if parts:
            try:
                wanted = sorted({int(p) for p in parts.split(",") if p.strip()})
            except ValueError:
                raise click.BadParameter(f"expected TOPIC:P,P, got {spec!r}", param_hint="--topic") from None
            absent = [p for p in wanted if p not in tmd.partitions]
            if absent:
                raise CliError(
                    f"Partition {absent[0]} does not exist: topic '{topic}' has {len(tmd.partitions)} partition(s)."
                )
        else:
            wanted = sorted(tmd.partitions)
        tps += [TopicPartition(topic, p) for p in wanted]
    return tps


@groups.command(short_help="Delete groups and their committed offsets.")
@click.argument("names", nargs=-1, required=True, metavar="GROUP...")
@_output_option
@client_options
def delete(names, output, client: ClientSettings):
    """Delete groups (they must have no active members) and their committed offsets."""
    from confluent_kafka import KafkaException

    admin = client.admin()
    client.metadata(admin)
    _require_group_apis(admin, client)
    names = list(dict.fromkeys(names))
    futures = admin.delete_consumer_groups(names, request_timeout=client.timeout)
    failures: dict[str, str] = {}
    for name in names:
        try:
            result(futures[name], client)
        except KafkaException as e:
            failures[name] = kafka_error_text(e.args[0])
    deleted = [n for n in names if n not in failures]
    if output == "json":
        _echo_json({"deleted": deleted, "failed": failures})
        if failures:
            raise SystemExit(1)
        return
    if deleted:
        click.echo(f"Deletion of requested consumer groups ({', '.join(repr(n) for n in deleted)}) was successful.")
    if failures:
        click.echo("Error: Deletion of some consumer groups failed:", err=True)
        for name, reason in failures.items():
            click.echo(f"* Group '{name}' could not be deleted due to: {reason}", err=True)
        raise SystemExit(1)
