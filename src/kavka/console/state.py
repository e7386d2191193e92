"""Read (and a few writes of) the broker's in-process state, as JSON-ready dicts for the console.

Everything here runs on the broker's event loop thread and returns quickly: it walks the metadata
image and the replica manager's partitions, never reads record data (that is :mod:`.browse`). Writes
(create/delete topics, topic configs) go through the broker's controller, as the Kafka APIs do.

No aiohttp here; :class:`ConsoleError` carries an HTTP status that the web layer turns into a JSON
error message.
"""

from __future__ import annotations

import os
import shutil
import time

from kavka import __version__
from kavka.broker.metrics import controller_gauges, replica_gauges
from kavka.metadata.ids import ZERO_UUID
from kavka.metadata.internal_topics import is_internal
from kavka.protocol.api import ApiKey, ErrorCode

__all__ = [
    "ConsoleError",
    "api_name",
    "request_counts",
    "request_times",
    "connection_count",
    "health",
    "overview",
    "topics_list",
    "topic_detail",
    "create_topic",
    "delete_topic",
    "alter_topic_configs",
    "partition_offsets",
]


class ConsoleError(Exception):
    """A request the console refuses, with the HTTP status to answer and a message for the page."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _error_name(code: int) -> str:
    try:
        return ErrorCode(code).name.upper()
    except ValueError:
        return f"ERROR_{code}"


def api_name(key: int) -> str:
    """Kafka's request name for an API key, as in its RequestMetrics (``ListOffsets``)."""
    try:
        return "".join(part.capitalize() for part in ApiKey(key).name.split("_"))
    except ValueError:
        return f"Api{key}"


# --- server-level figures ----------------------------------------------------------------------


def request_counts(server) -> dict[str, int]:
    """``{request name: requests served since start}``, from the server's Dispatcher."""
    return {api_name(k): v for k, v in sorted(server.dispatcher.request_counts.items())}


def request_times(server) -> dict:
    """``{request name: RequestTimes}`` (count, sum_ms, cumulative buckets), from the server's Dispatcher."""
    return {api_name(k): v for k, v in sorted(server.dispatcher.request_times.items())}


def connection_count(server) -> int:
    return server.connection_count


def health(broker) -> dict:
    """Kafka's health gauges under their JMX names: this broker's ReplicaManager gauges (from the
    partitions it hosts) and the KafkaController gauges over the committed image
    (:mod:`kavka.broker.metrics`); ``IsrShrinks`` / ``IsrExpands`` are the counts behind the
    ``...PerSec`` meters."""
    r = replica_gauges(broker.replica_manager)
    c = controller_gauges(broker.image, active=broker.controller is not None)
    return {
        "UnderReplicatedPartitions": r.under_replicated,
        "UnderMinIsrPartitionCount": r.under_min_isr,
        "AtMinIsrPartitionCount": r.at_min_isr,
        "OfflineReplicaCount": r.offline_replica_count,
        "LeaderCount": r.leader_count,
        "PartitionCount": r.partition_count,
        "IsrShrinks": r.isr_shrinks,
        "IsrExpands": r.isr_expands,
        "ActiveControllerCount": c.active_controller_count,
        "OfflinePartitionsCount": c.offline_partitions,
        "GlobalTopicCount": c.global_topics,
        "GlobalPartitionCount": c.global_partitions,
        "ActiveBrokerCount": c.active_brokers,
        "FencedBrokerCount": c.fenced_brokers,
        "PreferredReplicaImbalanceCount": c.preferred_replica_imbalance,
    }


def _log_dirs(broker) -> list[dict]:
    lm = broker.log_manager
    used: dict[str, int] = {}
    counts: dict[str, int] = {}
    dirs = list(lm.log_dirs) if lm is not None else [os.path.abspath(d) for d in broker.config.log_dirs]
    if lm is not None:
        for plog in lm.all_logs():
            parent = os.path.dirname(plog.dir)
            used[parent] = used.get(parent, 0) + plog.size_in_bytes
            counts[parent] = counts.get(parent, 0) + 1
    out = []
    for d in dirs:
        entry = {"path": d, "log_bytes": used.get(d, 0), "partitions": counts.get(d, 0)}
        try:
            du = shutil.disk_usage(d)
            entry.update(disk_total=du.total, disk_free=du.free)
        except OSError:
            entry.update(disk_total=None, disk_free=None)
        out.append(entry)
    return out


def overview(server) -> dict:
    broker = server.broker
    cfg = broker.config
    rm = broker.replica_manager
    started = server.started_at
    return {
        "cluster_id": broker.cluster_id,
        "node_id": broker.node_id,
        "roles": cfg.process_roles,
        "kraft": True,
        "mode": "KRaft combined" if set(cfg.process_roles) >= {"broker", "controller"} else "KRaft",
        "controller_id": broker.active_controller_id,
        "version": __version__,
        "started_at": started,
        "uptime_s": round(time.time() - started, 1) if started else None,
        "listeners": [{"name": n, "host": h, "port": p} for n, h, p in server.bound],
        "log_dirs": _log_dirs(broker),
        "health": health(broker),
        "totals": {
            "BytesIn": rm.bytes_in,
            "BytesOut": rm.bytes_out,
            "MessagesIn": rm.messages_in,
        },
        "requests": request_counts(server),
        "connections": connection_count(server),
        "topics": len(broker.image.topics_by_name),
        "partitions": sum(len(t.partitions) for t in broker.image.topics_by_name.values()),
    }


# --- topics ------------------------------------------------------------------------------------


def _topic_configs(broker, topic) -> dict:
    return broker.effective_topic_config(topic.configs)


def _partition_row(broker, topic, index, pimg) -> dict:
    p = broker.replica_manager.get(topic.name, index)
    row = {
        "partition": index,
        "leader": pimg.leader,
        "leader_epoch": pimg.leader_epoch,
        "replicas": list(pimg.replicas),
        "isr": list(pimg.isr),
        "under_replicated": len(pimg.isr) < len(pimg.replicas),
    }
    if p is not None:
        plog = p.log
        row.update(
            log_start_offset=plog.log_start_offset,
            high_watermark=plog.high_watermark,
            log_end_offset=plog.log_end_offset,
            last_stable_offset=plog.last_stable_offset,
            size_bytes=plog.size_in_bytes,
            segments=plog.num_segments,
        )
    else:
        row.update(
            log_start_offset=None,
            high_watermark=None,
            log_end_offset=None,
            last_stable_offset=None,
            size_bytes=None,
            segments=None,
        )
    return row


def topics_list(broker, *, include_internal: bool = True) -> list[dict]:
    out = []
    metrics = broker.replica_manager.topic_metrics
    for name in sorted(broker.image.topics_by_name):
        topic = broker.image.topics_by_name[name]
        if not include_internal and is_internal(name):
            continue
        size = records = 0
        for index in topic.partitions:
            p = broker.replica_manager.get(name, index)
            if p is not None:
                size += p.log.size_in_bytes
                records += max(0, p.log.high_watermark - p.log.log_start_offset)
        rf = max((len(p.replicas) for p in topic.partitions.values()), default=0)
        policy = topic.configs.get("cleanup.policy")
        if policy is None:
            policy = ",".join(_topic_configs(broker, topic).get("cleanup.policy") or [])
        counters = metrics.topics.get(name)
        out.append(
            {
                "name": name,
                "topic_id": str(topic.topic_id),
                "internal": is_internal(name),
                "partitions": len(topic.partitions),
                "replication_factor": rf,
                "size_bytes": size,
                "records": records,
                "cleanup_policy": policy,
                "messages_in": counters.messages_in if counters else 0,
                "bytes_in": counters.bytes_in if counters else 0,
            }
        )
    return out


def _require_topic(broker, name: str):
    topic = broker.image.topics_by_name.get(name)
    if topic is None:
        raise ConsoleError(404, f"Topic {name!r} does not exist.")
    return topic


def topic_detail(broker, name: str) -> dict:
    topic = _require_topic(broker, name)
    image = broker.image
    entries = broker.config.describe_topic(
        topic.configs,
        include_documentation=True,
        dynamic_broker=image.broker_configs(broker.node_id),
        dynamic_default=image.broker_configs(None),
    )
    configs = [
        {
            "name": e.name,
            "value": None if e.is_sensitive else e.value,
            "source": e.source.name,
            "override": e.name in topic.configs,
            "sensitive": e.is_sensitive,
            "read_only": e.read_only,
            "type": e.type.name,
            "doc": e.documentation,
        }
        for e in entries
    ]
    return {
        "name": name,
        "topic_id": str(topic.topic_id),
        "partitions": [_partition_row(broker, topic, i, p) for i, p in sorted(topic.partitions.items())],
        "configs": configs,
    }


def partition_offsets(broker, name: str) -> dict[int, dict]:
    topic = _require_topic(broker, name)
    out = {}
    for index in sorted(topic.partitions):
        p = broker.replica_manager.get(name, index)
        if p is not None:
            out[index] = {
                "log_start_offset": p.log.log_start_offset,
                "high_watermark": p.log.high_watermark,
                "log_end_offset": p.log.log_end_offset,
            }
    return out


async def create_topic(
    broker, name: str, partitions: int | None, replication_factor: int | None, configs: dict[str, str] | None
) -> dict:
    """CreateTopics for one topic, answered once the controller committed it; on a node that is not the
    active controller of a cluster, sent to the active one as Kafka's forwarding does."""
    if not isinstance(name, str) or not name:
        raise ConsoleError(400, "A topic needs a name.")
    spec = {
        "name": name,
        "num_partitions": -1 if partitions in (None, "") else int(partitions),
        "replication_factor": -1 if replication_factor in (None, "") else int(replication_factor),
        "configs": {str(k): (None if v is None else str(v)) for k, v in (configs or {}).items()},
    }
    if broker.controller is None and broker.cluster_mode:
        body = {
            "topics": [
                {
                    "name": name,
                    "num_partitions": spec["num_partitions"],
                    "replication_factor": spec["replication_factor"],
                    "assignments": [],
                    "configs": [{"name": k, "value": v} for k, v in spec["configs"].items()],
                }
            ],
            "timeout": 30000,
            "validate_only": False,
        }
        answer = await _forward(broker, ApiKey.CREATE_TOPICS, 7, body)
        t = answer.topics[0]
        if not t.error_code:
            await _until_image(broker, lambda image: name in image.topics_by_name)
        result = {
            "error_code": t.error_code,
            "error_message": t.error_message,
            "topic_id": t.topic_id,
            "num_partitions": t.num_partitions,
            "replication_factor": t.replication_factor,
        }
    else:
        [result] = broker.create_topics([spec], validate_only=False)
        await _committed(broker)
    if result["error_code"]:
        status = 409 if result["error_code"] == ErrorCode.topic_already_exists else 400
        raise ConsoleError(
            status, f"{_error_name(result['error_code'])}: {result['error_message'] or 'topic not created'}"
        )
    return {
        "name": name,
        "topic_id": str(result["topic_id"]),
        "partitions": result["num_partitions"],
        "replication_factor": result["replication_factor"],
    }


async def _forward(broker, api_key: int, version: int, body: dict):
    from kavka.controller.errors import NotControllerError

    try:
        return await broker.forward(api_key, version, body)
    except (NotControllerError, OSError, TimeoutError) as e:
        raise ConsoleError(503, f"No active controller answered: {e}") from None


async def _committed(broker) -> None:
    """Until what this node, as the active controller, appended is committed (a no-op on one node)."""
    from kavka.controller.errors import NotControllerError

    if broker.cluster_mode and broker.metadata_pending():
        try:
            await broker.committed(None)
        except NotControllerError as e:
            raise ConsoleError(
                503, f"The controller lost its leadership before the change was committed: {e}"
            ) from None


async def delete_topic(broker, name: str) -> dict:
    _require_topic(broker, name)
    if broker.controller is None and broker.cluster_mode:
        answer = await _forward(
            broker, ApiKey.DELETE_TOPICS, 6, {"topics": [{"name": name, "topic_id": ZERO_UUID}], "timeout_ms": 30000}
        )
        r = answer.responses[0]
        result = {"error_code": r.error_code, "error_message": r.error_message}
        if not r.error_code:
            await _until_image(broker, lambda image: name not in image.topics_by_name)
    else:
        [result] = broker.delete_topics([(name, None)], version=6)
        await _committed(broker)
    if result["error_code"]:
        raise ConsoleError(
            400, f"{_error_name(result['error_code'])}: {result['error_message'] or 'topic not deleted'}"
        )
    return {"name": name, "deleted": True}


async def alter_topic_configs(broker, name: str, set_: dict[str, str] | None, delete: list[str] | None) -> dict:
    """IncrementalAlterConfigs for one topic: SET each of ``set_``, DELETE each of ``delete``; forwarded to
    the active controller from any other node of a cluster, and answered with the topic once this node's
    image shows the change."""
    from kavka.controller.configs import AlterableConfig, AlterConfigOp, AlterConfigsResource
    from kavka.metadata.records import ConfigResourceType

    _require_topic(broker, name)
    set_ = {str(k): str(v) for k, v in (set_ or {}).items()}
    delete = [str(k) for k in (delete or [])]
    if not set_ and not delete:
        raise ConsoleError(400, "No config change given.")
    if broker.controller is None and broker.cluster_mode:
        configs = [{"name": k, "config_operation": int(AlterConfigOp.SET), "value": v} for k, v in set_.items()]
        configs += [{"name": k, "config_operation": int(AlterConfigOp.DELETE), "value": None} for k in delete]
        body = {
            "resources": [{"resource_type": int(ConfigResourceType.TOPIC), "resource_name": name, "configs": configs}],
            "validate_only": False,
        }
        answer = await _forward(broker, ApiKey.INCREMENTAL_ALTER_CONFIGS, 1, body)
        code, message = answer.responses[0].error_code, answer.responses[0].error_message
        if not code:
            await _until_image(broker, _configs_applied(name, set_, delete))
    else:
        ops = [AlterableConfig(k, AlterConfigOp.SET, v) for k, v in set_.items()]
        ops += [AlterableConfig(k, AlterConfigOp.DELETE, None) for k in delete]
        resource = AlterConfigsResource(ConfigResourceType.TOPIC, name, ops)
        [result], _ = broker.controller.incremental_alter_configs([resource], validate_only=False)
        code, message = result.error_code, result.error_message
        if not code:
            await _committed(broker)
    if code:
        raise ConsoleError(400, f"{_error_name(code)}: {message or 'config not changed'}")
    return topic_detail(broker, name)


async def _until_image(broker, shows, timeout_s: float = 5.0) -> None:
    """Until ``shows(image)`` is true of this node's image, or ``timeout_s``: a change the active
    controller committed reaches this node's image with its next metadata fetch, a moment later. On
    timeout the answer shows the image as it is."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not shows(broker.image) and loop.time() < deadline:
        await asyncio.sleep(0.05)


def _configs_applied(name: str, set_: dict[str, str], delete: list[str]):
    def shows(image) -> bool:
        topic = image.topics_by_name.get(name)
        if topic is None:
            return True
        return all(topic.configs.get(k) == v for k, v in set_.items()) and not any(k in topic.configs for k in delete)

    return shows
