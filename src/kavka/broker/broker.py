"""The broker: wires storage, the metadata quorum, the controller and the replica manager together.

Combined mode on one node (KRaft): the controller decides (create/delete topics), the decision is a
list of metadata records committed to ``__cluster_metadata``, and the broker reacts to the new image
(:meth:`_publish`): it opens logs for partitions that appeared and deletes logs of topics that went.
At startup the same path runs once over the replayed image, so a topic deleted while its log was
half-removed is cleaned up, and a log dir missing a partition gets an empty log.

Failed log dirs (Kafka's ``ReplicaManager.handleLogDirFailure`` in KRaft mode): an I/O error on a log
dir takes it offline in the log manager and marks its partitions offline in the replica manager
(KAFKA_STORAGE_ERROR from then on); the broker keeps serving from its other dirs. If the failed dir holds
the metadata log, or no dir is left online, the broker halts at once with exit code 1 -- Kafka 4 does the
same ("Shutdown broker because the metadata log dir ... has failed" / "... all log dirs in ... have
failed", ``Exit.halt(1)``): a KRaft node cannot go on without its metadata log, and a broker with no dir
can serve nothing. Nothing acknowledged is lost by the halt: what is on disk is recovered at the next
start as after a crash.

Everything here runs on the event loop thread; nothing takes a lock.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import os
import time
from dataclasses import dataclass

from kavka.broker import handlers  # noqa: F401  (registers every API)
from kavka.broker.authz import BrokerAuthorizer
from kavka.broker.group_service import GroupService
from kavka.broker.lifecycle import BrokerLifecycleManager
from kavka.broker.metadata_quorum import open_metadata_quorum, parse_voters
from kavka.broker.mutation_quotas import client_quota_managers
from kavka.broker.replica_manager import Partition, ReplicaManager
from kavka.broker.replication_service import ReplicationService
from kavka.broker.txn_service import TxnService
from kavka.controller.controller import SECURITY_PROTOCOL_IDS, QuorumController
from kavka.controller.errors import NotControllerError, ProducerIdsNotReady
from kavka.controller.features import SUPPORTED_FEATURES
from kavka.controller.topics import CreatableTopic
from kavka.metadata.config import BrokerConfig, Listener
from kavka.metadata.configdefs import BROKER_CONFIGS
from kavka.metadata.ids import new_cluster_id, uuid_from_str
from kavka.metadata.internal_topics import METADATA_TOPIC
from kavka.protocol.api import ApiKey, ErrorCode
from kavka.raft.quorum import RaftMetadataQuorum
from kavka.storage.checkpoints import (
    CheckpointError,
    read_meta_properties,
    verify_meta_properties,
    write_meta_properties,
)
from kavka.storage.config import LogConfig
from kavka.storage.errors import KafkaStorageError, LogDirError
from kavka.storage.fs import OsFileSystem
from kavka.storage.manager import LOCK_FILE, LogManager

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BrokerEndpoint:
    node_id: int
    host: str
    port: int
    rack: str | None = None


def _halt(code: int) -> None:
    """Kafka's ``Exit.halt``: end the process now, running no shutdown code (it could write to a failed
    dir); the log line before it is already flushed by the logging handler."""
    os._exit(code)


class Broker:
    def __init__(self, config: BrokerConfig, *, fs=None, clock_ms=None, halt=None):
        """``halt(exit code)`` ends the process when the broker cannot go on (see the module docstring)."""
        self.config = config
        self.halt = halt or _halt
        self.fs = fs or OsFileSystem()
        self.clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self.node_id: int = config.node_id
        self.cluster_id: str = ""
        self.controller_id: int = self.node_id
        self.replica_manager = ReplicaManager(self.clock_ms)
        self.byte_rate_quotas, self.request_quotas, self.mutation_quotas = client_quota_managers(
            lambda: self.quorum.image.client_quotas if self.quorum else {}, config
        )
        # authorizer.class.name: the ACLs of the metadata image, checked by the handlers (kavka.broker.authz)
        self.authz = BrokerAuthorizer(config, lambda: self.quorum.image.acls if self.quorum else {})
        self.replica_manager.on_storage_error = self._on_storage_error
        self._endpoints: list[BrokerEndpoint] = []
        self._listener_endpoints: list[tuple[str, str, int]] = []
        self.housekeeping_interval_ms = 1000
        self.log_manager: LogManager | None = None
        self.quorum: RaftMetadataQuorum | None = None
        self._controller: QuorumController | None = None
        # KRaft across processes when controller.quorum.voters names the voters; else a quorum of one
        self.voters = parse_voters(config["controller.quorum.voters"])
        self.cluster_mode = bool(self.voters)
        self.is_controller_role = "controller" in config.process_roles or not config.process_roles
        self.is_broker_role = "broker" in config.process_roles or not config.process_roles
        # set by the server in cluster mode: async (api_key, version, request) -> response from the
        # active controller, and the Raft driver the quorum handlers talk to
        self.controller_channel = None
        self.broker_channel = None  # set by the server in cluster mode: kavka.server.broker_channel
        self.raft_driver = None
        self.lifecycle: BrokerLifecycleManager | None = None
        self.replication = ReplicationService(self)
        self.group_service: GroupService | None = None
        self.txn_service: TxnService | None = None
        self._broker_epoch = -1
        self.registration_endpoints: list[Listener] = []
        self._background: set[asyncio.Task] = set()
        self._creating: set[str] = set()
        self._allocating = False
        self._producer_ids = iter(())
        self._seen_topic_configs: dict[str, object] = {}
        self._seen_broker_configs: tuple = ()

    # --- lifecycle ---------------------------------------------------------------------------

    def startup(self) -> None:
        cfg = self.config
        log_dirs = [os.path.abspath(d) for d in cfg.log_dirs]
        lm = LogManager(
            self.fs,
            log_dirs,
            self._broker_log_config(),
            self.clock_ms,
            retention_check_interval_ms=cfg["log.retention.check.interval.ms"],
            cleaner_enable=cfg["log.cleaner.enable"],
            cleaner_dedupe_buffer_size=cfg["log.cleaner.dedupe.buffer.size"],
            cleaner_io_buffer_size=cfg["log.cleaner.io.buffer.size"],
            cleaner_backoff_ms=cfg["log.cleaner.backoff.ms"],
            cleaner_io_max_bytes_per_second=cfg["log.cleaner.io.max.bytes.per.second"],
            producer_id_expiration_ms=cfg["producer.id.expiration.ms"],
            producer_id_expiration_check_interval_ms=cfg["producer.id.expiration.check.interval.ms"],
        )  # locks every log dir first: nothing below may touch a directory another broker uses
        try:
            self.cluster_id = self._check_meta_properties(log_dirs)
            lm.startup()
            # One controller operation is one atomic batch (up to 10000 records); KRaft bounds a batch at
            # 8 MiB, not by max.message.bytes (10000 binary PartitionRecords take well under 1 MiB).
            # Kafka's KafkaRaftLog: no time or size retention (snapshots bound the log), its own segment size.
            metadata_config = dataclasses.replace(
                self._broker_log_config(),
                max_message_bytes=8 * 1024 * 1024,
                retention_ms=-1,
                retention_bytes=-1,
                segment_bytes=cfg.get("metadata.log.segment.bytes") or 1073741824,
            )
            metadata_log = lm.get_or_create_log(METADATA_TOPIC, 0, None, metadata_config)
        except KafkaStorageError as e:
            lm.release_locks()
            raise LogDirError(f"cannot open the metadata log: {e}") from None
        except BaseException:
            lm.release_locks()
            raise
        self.log_manager = lm
        lm.dir_failure_listeners.append(self._on_log_dir_failure)
        self.quorum = quorum = open_metadata_quorum(
            cfg,
            metadata_log,
            self.fs,
            self.clock_ms,
            self.cluster_id,
            on_failure=lambda e: lm.handle_log_failure(metadata_log, e),  # halts: the metadata log dir failed
        )
        # every committed change reaches the logs and partitions (new partitions, configs applied live,
        # deleted topics), whoever made it: a handler here, or the active controller on another node
        quorum.add_listener(lambda old, new, records, first: self._publish())
        quorum.add_leader_listener(self._on_quorum_leader)
        self._on_quorum_leader(quorum.leader_id, quorum.node.epoch)
        self._publish()
        self.group_service = GroupService(self)
        self.group_service.startup()
        self.txn_service = TxnService(self)
        self.txn_service.startup()

    # --- the metadata quorum and the active controller ---------------------------------------

    @property
    def controller(self) -> QuorumController | None:
        """The controller when this node is the active one (the quorum's leader), else None."""
        quorum = self.quorum
        if quorum is None or not quorum.is_leader or not self.is_controller_role:
            return None
        return self._controller

    @property
    def active_controller_id(self) -> int:
        return self.quorum.leader_id if self.quorum is not None else -1

    def _on_quorum_leader(self, leader_id: int, epoch: int) -> None:
        """This node became the active controller: broker sessions start afresh (Kafka keeps them in
        memory only), and on a cluster's first start the controller writes metadata.version."""
        if leader_id != self.node_id or not self.quorum.is_leader or not self.is_controller_role:
            return  # (a restarted leader's state still names it, resigned, until a new election)
        if self._controller is None:
            self._controller = QuorumController(self.quorum.controller, self.config)  # activates itself
        else:
            self._controller.activate()
        self._controller.bootstrap()

    def metadata_pending(self) -> bool:
        """Whether this node, as the active controller, appended records not committed yet."""
        quorum = self.quorum
        return quorum is not None and quorum.is_leader and quorum.uncommitted_end > quorum.node.high_watermark

    async def committed(self, value):
        """``value`` once everything this controller appended so far is committed; NotControllerError if
        it stops leading first (the next leader may drop what was not committed)."""
        quorum = self.quorum
        offset = quorum.uncommitted_end - 1
        if offset < quorum.node.high_watermark:
            return value
        fut = asyncio.get_running_loop().create_future()

        def done(error: Exception | None) -> None:
            if fut.done():
                return
            if error is None:
                fut.set_result(value)
            else:
                fut.set_exception(NotControllerError(str(error)))

        quorum.when_committed(offset, done)
        return await fut

    # --- failed log dirs ---------------------------------------------------------------------

    def _on_storage_error(self, partition, exc: Exception) -> None:
        """An I/O error on a partition's log (from the replica manager): its whole dir goes offline."""
        if self.log_manager is not None:
            self.log_manager.handle_log_failure(partition.log, exc)

    def _on_log_dir_failure(self, log_dir: str, partitions: list[tuple[str, int]]) -> None:
        self.replica_manager.mark_offline(partitions)
        lm = self.log_manager
        if (METADATA_TOPIC, 0) in partitions:
            log.critical("Shutdown broker because the metadata log dir %s has failed", log_dir)
            self.halt(1)
        elif not lm.live_log_dirs:
            log.critical("Shutdown broker because all log dirs in %s have failed", ", ".join(lm.log_dirs))
            self.halt(1)
        else:
            log.warning("Stopped serving replicas in dir %s", log_dir)

    def offline_log_dirs(self) -> dict[str, str]:
        """Failed log dirs and what failed in each."""
        return dict(self.log_manager.offline_dirs) if self.log_manager is not None else {}

    def _check_meta_properties(self, log_dirs: list[str]) -> str:
        """Each log dir carries meta.properties (cluster.id, node.id, directory.id); all must agree.

        Empty dirs are formatted (with the cluster id found in the others, or a new one: ``kavka serve`` on
        a fresh dir needs no format step). A dir that holds data but no meta.properties is refused, as Kafka
        refuses it: formatting it would give existing logs a new cluster id. LogDirError (one line) for that,
        an unreadable file, or a node or cluster id that disagrees."""
        cluster_id = self.config.get("cluster.id") or None
        missing = []
        for d in log_dirs:
            self.fs.makedirs(d)
            try:
                props = read_meta_properties(self.fs, d)
            except CheckpointError as e:
                raise LogDirError(f"unreadable meta.properties: {e}") from None
            if props is None:
                if any(name not in (LOCK_FILE, "lost+found") for name in self.fs.listdir(d)):
                    raise LogDirError(
                        f"{d} holds data but no meta.properties; refusing to start (restore "
                        f"{d}/meta.properties, or empty the directory to format it anew)"
                    )
                missing.append(d)
                continue
            problem = verify_meta_properties(props, f"{d}/meta.properties", node_id=self.node_id, cluster_id=cluster_id)
            if problem is not None:
                raise LogDirError(problem)
            cluster_id = props.get("cluster.id") or cluster_id
        cluster_id = cluster_id or new_cluster_id()
        for d in missing:
            write_meta_properties(
                self.fs, d, cluster_id=cluster_id, node_id=self.node_id, directory_id=new_cluster_id()
            )
        return cluster_id

    def set_bound_listeners(self, bound: list[tuple[str, str, int]]) -> None:
        """Register this broker with what the server actually bound (listener port 0 → the chosen
        port), advertised as `advertised.listeners` says where it says anything."""
        advertised = {l.name: l for l in self.config.advertised_listeners}
        protocols = {l.name: l.security_protocol for l in self.config.listeners}
        endpoints = []
        for name, host, port in bound:
            adv = advertised.get(name)
            if adv is not None and adv.host:
                host, port = adv.host, adv.port or port
            elif host in ("0.0.0.0", "", "::"):
                host = "127.0.0.1"
            endpoints.append(Listener(name, host, port, protocols.get(name, "PLAINTEXT")))
        self._endpoints = [BrokerEndpoint(self.node_id, e.host, e.port) for e in endpoints]
        self._listener_endpoints = [(e.name, e.host, e.port) for e in endpoints]
        self.registration_endpoints = endpoints
        if not self.cluster_mode:
            self._broker_epoch, _ = self._controller.register_broker(self.node_id, endpoints)
        # in a cluster the broker lifecycle manager registers through the active controller

    @property
    def broker_epoch(self) -> int:
        """This broker's epoch: the one its current registration got (-1 before it registered)."""
        return self.lifecycle.broker_epoch if self.lifecycle is not None else self._broker_epoch

    def caught_up(self) -> bool:
        """Whether the committed image is recent enough to host partitions from: on one node always; in
        a cluster once it holds this broker's registration at its current epoch (Kafka's criterion for
        unfencing a broker: it has replayed the metadata log up to its own registration)."""
        if not self.cluster_mode or not self.is_broker_role:
            return True
        epoch = self.broker_epoch
        registration = self.image.brokers.get(self.node_id)
        return epoch >= 0 and registration is not None and registration.broker_epoch == epoch

    def tick(self) -> None:
        self.log_manager.tick()
        self.replication.tick(self.clock_ms())  # (the controller's timers run from the Raft driver)
        if self.group_service is not None:
            self.group_service.tick()
        if self.txn_service is not None:
            self.txn_service.tick()

    def shutdown(self) -> None:
        if self.txn_service is not None:
            self.txn_service.shutdown()
            self.txn_service = None
        if self.group_service is not None:
            self.group_service.shutdown()
            self.group_service = None
        if self.log_manager is not None:
            # a dir failing from here on goes offline quietly (no halt: we are stopping anyway, and the next
            # start recovers it), as Kafka stops its log dir failure handler before the log manager
            self.log_manager.dir_failure_listeners.clear()
            self.log_manager.shutdown()
            self.log_manager = None

    # --- metadata views used by handlers -----------------------------------------------------

    @property
    def image(self):
        return self.quorum.image

    def live_brokers(self, listener: str | None = None) -> list[BrokerEndpoint]:
        """The brokers clients see in Metadata: registered ones only (after UnregisterBroker of this node
        it is out of Metadata, as in Kafka), each at its endpoint for ``listener`` (the one the request
        came in on, as Kafka answers; None: this broker's first listener)."""
        registered = self.quorum.image.brokers if self.quorum is not None else None
        if listener is None or all(name != listener for name, _, _ in self._listener_endpoints):
            listener = (
                self._listener_endpoints[0][0] if self._listener_endpoints else self.config.inter_broker_listener_name
            )
        if not self.cluster_mode or registered is None:
            return [
                e
                for e, (name, _, _) in zip(self._endpoints, self._listener_endpoints, strict=True)
                if name == listener and (registered is None or e.node_id in registered)
            ]
        out = []
        for broker_id, reg in sorted(registered.items()):
            if getattr(reg, "fenced", False):
                continue
            endpoint = reg.endpoint(listener)
            if endpoint is not None:
                out.append(BrokerEndpoint(broker_id, endpoint.host, endpoint.port, reg.rack))
        return out

    def bound_listeners(self) -> list[tuple[str, str, int]]:
        """(listener name, advertised host, port) of every listener this broker registered."""
        return self._listener_endpoints

    def topics(self):
        return list(self.image.topics_by_name.values())

    def topic(self, name: str):
        return self.image.topics_by_name.get(name)

    def topic_by_id(self, topic_id):
        return self.image.topics_by_id.get(topic_id)

    def effective_topic_config(self, overrides) -> dict:
        """Typed topic configs: topic overrides, then dynamic broker configs, then static, then defaults."""
        image = self.quorum.image if self.quorum is not None else None
        return self.config.effective_topic_config(
            overrides,
            dynamic_broker=image.broker_configs(self.node_id) if image else None,
            dynamic_default=image.broker_configs(None) if image else None,
        )

    def dynamic_config(self, name: str):
        """A broker config's effective typed value: this broker's dynamic value, else the cluster-wide
        dynamic default, else the static config (Kafka's order for dynamic broker configs)."""
        image = self.quorum.image if self.quorum is not None else None
        if image is not None:
            for layer in (image.broker_configs(self.node_id), image.broker_configs(None)):
                value = layer.get(name)
                if value is not None:
                    return BROKER_CONFIGS[name].parse(value)
        return self.config[name]

    def _broker_log_config(self) -> LogConfig:
        return LogConfig.from_dict(self.effective_topic_config({}))

    def topic_log_config(self, topic) -> LogConfig:
        return LogConfig.from_dict(self.effective_topic_config(topic.configs))

    # --- controller operations ---------------------------------------------------------------

    def create_topics(self, specs: list[dict], validate_only: bool, admit=None) -> list[dict]:
        creatable = [
            CreatableTopic(
                name=s["name"],
                num_partitions=s["num_partitions"],
                replication_factor=s["replication_factor"],
                assignments=s.get("assignments") or {},
                configs=s.get("configs") or {},
            )
            for s in specs
        ]
        results, _ = self.controller.create_topics(creatable, validate_only=validate_only, admit=admit)
        return [
            {
                "name": r.name,
                "topic_id": r.topic_id,
                "error_code": r.error_code,
                "error_message": r.error_message,
                "num_partitions": r.num_partitions,
                "replication_factor": r.replication_factor,
                "configs": [
                    {
                        "name": c.name,
                        "value": c.value,
                        "read_only": c.read_only,
                        "config_source": int(c.source),
                        "is_sensitive": c.is_sensitive,
                    }
                    for c in r.configs
                ]
                if r.error_code == 0
                else None,
            }
            for r in results
        ]

    def auto_create_topic(self, name: str):
        """Create ``name`` with the broker defaults if `auto.create.topics.enable`; (error, topic). On a
        node that is not the active controller the request goes to it and the answer meanwhile is
        LEADER_NOT_AVAILABLE, as Kafka's AutoTopicCreationManager answers."""
        if not self.config["auto.create.topics.enable"]:
            return ErrorCode.unknown_topic_or_partition, None
        if self.controller is None:
            self._create_remotely(name, -1, -1, {})
            return ErrorCode.leader_not_available, None
        [r], _ = self.controller.create_topics([CreatableTopic(name=name)], validate_only=False)
        if r.error_code not in (0, ErrorCode.topic_already_exists):
            return r.error_code, None
        topic = self.topic(name)
        if topic is None:  # in a cluster the creation commits once the quorum has it: not visible yet
            return ErrorCode.leader_not_available, None
        return 0, topic

    def delete_topics(self, targets: list[tuple[str | None, object]], version: int, admit=None) -> list[dict]:
        names = [n for n, _ in targets if n is not None]  # "" is a name (unknown), not an id
        ids = [i for n, i in targets if n is None]
        results, _ = self.controller.delete_topics(names=names, topic_ids=ids, admit=admit)
        out = []
        for r in results:
            code = r.error_code
            if code == ErrorCode.topic_deletion_disabled and version < 3:
                code = ErrorCode.invalid_request  # Kafka: older clients do not know error 73
            out.append({"name": r.name, "topic_id": r.topic_id, "error_code": code, "error_message": r.error_message})
        return out

    def led_partitions(self, topic_name: str) -> list[tuple[int, Partition]]:
        """(index, partition) of each partition of ``topic_name`` this broker leads, by index."""
        topic = self.topic(topic_name)
        if topic is None:
            return []
        out = []
        for index, pimg in sorted(topic.partitions.items()):
            p = self.replica_manager.get(topic_name, index)
            if pimg.leader == self.node_id and p is not None:
                out.append((index, p))
        return out

    def ensure_internal_topic(
        self, name: str, num_partitions: int, replication_factor: int, configs: dict[str, str]
    ) -> int:
        """Create an internal topic (``__consumer_offsets``, ``__transaction_state``) if missing; NONE or
        COORDINATOR_NOT_AVAILABLE.

        In a cluster, as Kafka: the topic gets its configured replication factor, and until that many
        brokers are live it is not created (the controller would refuse it: INVALID_REPLICATION_FACTOR)
        and the lookup is answered COORDINATOR_NOT_AVAILABLE. A single node (no
        ``controller.quorum.voters``) would then never get a coordinator, so there the factor (and a
        ``min.insync.replicas`` given in ``configs``) is capped at the live brokers instead."""
        if self.topic(name) is not None:
            return ErrorCode.none
        live = len(self.live_brokers())
        if self.cluster_mode:
            if live < replication_factor:
                log.debug("not creating %s yet: replication factor %d, %d live brokers", name, replication_factor, live)
                return ErrorCode.coordinator_not_available
            rf = replication_factor
        else:
            live = max(1, live)
            rf = min(replication_factor, live)
            if "min.insync.replicas" in configs:
                configs = {**configs, "min.insync.replicas": str(min(int(configs["min.insync.replicas"]), live))}
        if self.controller is None:
            self._create_remotely(name, num_partitions, rf, configs)
            return ErrorCode.coordinator_not_available
        [result] = self.create_topics(
            [{"name": name, "num_partitions": num_partitions, "replication_factor": rf, "configs": configs}],
            validate_only=False,
        )
        if result["error_code"] not in (0, ErrorCode.topic_already_exists):
            log.warning("cannot create %s: %s", name, result.get("error_message"))
            return ErrorCode.coordinator_not_available
        return ErrorCode.none

    def next_producer_id(self) -> int:
        """The next id of this broker's block, reserving a new block through the controller first."""
        pid = next(self._producer_ids, None)
        if pid is None:
            if self.controller is None:
                self._allocate_remotely()
                raise ProducerIdsNotReady("no producer id block yet; one is on its way from the controller")
            first, size, _ = self.controller.allocate_producer_ids(self.node_id, self._broker_epoch)
            self._producer_ids = iter(range(first, first + size))
            pid = next(self._producer_ids)
        return pid

    # --- joining the cluster ---------------------------------------------------------------------

    def start_lifecycle(self) -> None:
        """Cluster mode: register with the active controller and heartbeat (Kafka's
        BrokerLifecycleManager); the broker's epoch and fencing follow the controller's answers."""
        cfg = self.config
        # Kafka's lifecycle channel (KAFKA-14392): a request to the controller gives up after half a
        # session, so a heartbeat stuck on a dead link is sent again while the broker can still stay
        # unfenced
        bound_s = cfg["broker.session.timeout.ms"] / 2000
        self.lifecycle = manager = BrokerLifecycleManager(
            functools.partial(self.controller_channel, timeout_s=bound_s),
            node_id=self.node_id,
            cluster_id=self.cluster_id,
            listeners=[
                (lst.name, lst.host, lst.port, SECURITY_PROTOCOL_IDS[lst.security_protocol])
                for lst in self.registration_endpoints
            ],
            rack=cfg.get("broker.rack") or None,
            features=dict(SUPPORTED_FEATURES),
            log_dirs=self._directory_ids(),
            metadata_offset=lambda: self.quorum.end_offset - 1,
            heartbeat_interval_ms=cfg["broker.heartbeat.interval.ms"],
            session_timeout_ms=cfg["broker.session.timeout.ms"],
        )
        manager.start()
        # the image is applied as it commits: nothing to load first, so heartbeats may ask to be unfenced
        manager.set_ready_to_unfence()

        async def epoch_when_registered() -> None:
            await manager.registered.wait()
            self._broker_epoch = manager.broker_epoch
            self._publish()  # the image may already hold the registration: partitions are hosted from now

        self._in_background(epoch_when_registered(), "registering with the controller")

    def _directory_ids(self) -> list:
        """The ``directory.id`` of every log dir (meta.properties), as the broker registers them."""
        ids = []
        for d in self.config.log_dirs:
            props = read_meta_properties(self.fs, os.path.abspath(d)) or {}
            if props.get("directory.id"):
                ids.append(uuid_from_str(props["directory.id"]))
        return ids

    async def stop_lifecycle(self) -> None:
        """A controlled shutdown (the controller moves leadership away first, once partitions
        replicate), then no more heartbeats."""
        manager = self.lifecycle
        if manager is None:
            return
        if manager.registered.is_set():
            await manager.controlled_shutdown(timeout_s=5.0)
        await manager.close()
        self.lifecycle = None

    # --- requests to a remote active controller ---------------------------------------------------

    def _in_background(self, coro, what: str) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)

        def finished(t: asyncio.Task) -> None:
            self._background.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.info("%s failed: %s", what, t.exception())

        task.add_done_callback(finished)

    async def forward(self, api_key: int, version: int, request):
        """Send a client's metadata write to the active controller and return its answer."""
        if self.controller_channel is None:
            raise NotControllerError("this node is not the active controller and knows no channel to it")
        return await self.controller_channel(api_key, version, request)

    def _create_remotely(self, name: str, partitions: int, replication_factor: int, configs: dict) -> None:
        """Ask the active controller to create a topic (auto-creation, internal topics); no wait."""
        if self.controller_channel is None or name in self._creating:
            return
        self._creating.add(name)
        body = {
            "topics": [
                {
                    "name": name,
                    "num_partitions": partitions,
                    "replication_factor": replication_factor,
                    "assignments": [],
                    "configs": [{"name": k, "value": v} for k, v in configs.items()],
                }
            ],
            "timeout": 30000,
            "validate_only": False,
        }

        async def create() -> None:
            try:
                await self.controller_channel(ApiKey.CREATE_TOPICS, 7, body)
            finally:
                self._creating.discard(name)

        self._in_background(create(), f"creating {name} through the controller")

    def _allocate_remotely(self) -> None:
        if self.controller_channel is None or self._allocating:
            return
        self._allocating = True

        async def allocate() -> None:
            try:
                body = {"broker_id": self.node_id, "broker_epoch": self._broker_epoch}
                resp = await self.controller_channel(ApiKey.ALLOCATE_PRODUCER_IDS, 0, body)
                if resp.error_code == 0:
                    start, size = resp.producer_id_start, resp.producer_id_len
                    self._producer_ids = iter(range(start, start + size))
            finally:
                self._allocating = False

        self._in_background(allocate(), "allocating producer ids")

    # --- reacting to the metadata image ------------------------------------------------------

    def _publish(self) -> None:
        """Bring logs and partitions in line with the current image: open logs for new partitions,
        apply changed topic (or dynamic broker) configs live, delete logs of deleted topics."""
        image = self.image
        rm = self.replica_manager
        lm = self.log_manager
        broker_layers = (image.broker_configs(self.node_id), image.broker_configs(None))
        broker_changed = broker_layers != self._seen_broker_configs
        self._seen_broker_configs = broker_layers
        if broker_changed:
            lm.producer_id_expiration_ms = self.dynamic_config("producer.id.expiration.ms")
            if lm.cleaner is not None:
                lm.cleaner.io_max_bytes_per_second = self.dynamic_config("log.cleaner.io.max.bytes.per.second")
                lm.cleaner.reconfigure(
                    dedupe_buffer_size=self.dynamic_config("log.cleaner.dedupe.buffer.size"),
                    io_buffer_size=self.dynamic_config("log.cleaner.io.buffer.size"),
                    backoff_ms=self.dynamic_config("log.cleaner.backoff.ms"),
                )
        if not self.caught_up():
            # a restarted cluster node's image is what its own metadata log says was committed, which
            # may lack topics created since: hosting from it would delete their logs (found by the fault
            # suite, seed 2). As Kafka's broker, partitions wait until the image holds this incarnation's
            # own registration, so it holds everything committed before this start.
            return
        live = set()
        for topic in image.topics_by_name.values():
            config = None
            if broker_changed or self._seen_topic_configs.get(topic.name) is not topic.configs:
                config = self.topic_log_config(topic)
                self._seen_topic_configs[topic.name] = topic.configs
                lm.update_config(topic.name, config)
                for index in topic.partitions:
                    p = rm.get(topic.name, index)
                    if p is not None:
                        p.min_insync_replicas = config.min_insync_replicas
            for index, pimg in topic.partitions.items():
                if self.cluster_mode and self.node_id not in pimg.replicas:
                    continue  # not a replica here (any log left of it goes below)
                live.add((topic.name, index))
                self.replication.host(topic, index, pimg, lambda t=topic, c=config: c or self.topic_log_config(t))
        for name in [n for n in self._seen_topic_configs if n not in image.topics_by_name]:
            del self._seen_topic_configs[name]
        for key in [k for k in rm.partitions if k not in live]:
            rm.remove_partition(*key)
        for key in [k for k in lm.offline_partitions if k not in live]:
            del lm.offline_partitions[key]  # a deleted topic's name may be reused in a live dir
            rm.offline.discard(key)
        for plog in list(lm.all_logs()):
            if plog.topic != METADATA_TOPIC and (plog.topic, plog.partition) not in live:
                lm.delete_log(plog.topic, plog.partition)
        self.replication.assign_fetchers()
        if self.cluster_mode:
            # the coordinators follow the leadership of their topics' partitions (load what this broker
            # now leads, unload what it no longer leads), whoever created the topic
            for service in (self.group_service, self.txn_service):
                if service is not None:
                    service.load_led_partitions()
