"""Brokers in the cluster, on the controller's side: registration, heartbeats, fencing, controlled
shutdown and producer id blocks (Kafka's ``ClusterControlManager``, ``BrokerHeartbeatManager`` and
``ProducerIdControlManager``).

Pure: the metadata image and the clock (``now_ms``) come in, a reply and the metadata records to append
come out; the caller (``QuorumController``) appends them. The only state kept here is Kafka's *soft*
state, which is never in the metadata log and lives in the active controller's memory only:

- when each broker session (broker id, broker epoch) was last heard from. A new active controller
  (:meth:`BrokerControl.activate`) starts every unfenced broker's session timer afresh, as Kafka's does;
- each broker's last reported metadata offset, and the offset at which its controlled shutdown is
  complete;
- the offset of each broker's ``RegisterBrokerRecord``, as appended by this controller (after a
  failover, the broker epoch stands in for it: it is the offset of the registration that started the
  incarnation, a lower bound of the latest one).

Rules (Kafka 4.4's; the error messages are Kafka's and go to the log, as its responses carry none):

- Registration. A cluster id other than this cluster's -> INCONSISTENT_CLUSTER_ID. A registration for a
  broker id whose current session (id, epoch) is live and whose incarnation id differs ->
  DUPLICATE_BROKER_REGISTRATION. The same incarnation again amends the registration and keeps its
  epoch, fencing and controlled-shutdown state. A new incarnation gets broker epoch = the offset of its
  ``RegisterBrokerRecord`` and starts fenced. The request must carry ``metadata.version``
  (INVALID_REGISTRATION), every feature's range must hold the finalized level, and a feature finalized
  above 0 that the broker does not name counts as range 0-0 (UNSUPPORTED_VERSION). Log directories:
  at least one, none reserved, no duplicates, none another broker registered (INVALID_REGISTRATION).
- Heartbeat. An unknown broker or another epoch -> STALE_BROKER_EPOCH. States FENCED, UNFENCED,
  CONTROLLED_SHUTDOWN, SHUTDOWN_NOW with Kafka's transitions (``calculateNextBrokerState``): a fenced
  broker is unfenced when it does not want fencing and its metadata offset has reached its
  registration record; an unfenced one asking to shut down enters controlled shutdown if it leads
  partitions (else it may shut down at once); a broker in controlled shutdown may shut down once it
  leads nothing that could move and every other active broker has reached its controlled-shutdown
  offset. Fencing and unfencing are ``BrokerRegistrationChangeRecord`` v0, entering controlled shutdown
  v1 (what Kafka 4.4 writes).
- Session expiry (:meth:`BrokerControl.fence_stale_brokers`): an unfenced broker not heard from for
  ``broker.session.timeout.ms`` is fenced. A broker registered in-process (:meth:`register_local`)
  shares the controller's process, so its session never expires while this controller is active.
- Partitions do not replicate yet, so fencing moves no leadership and changes no ISR: a broker in
  controlled shutdown leads nothing that could move, and is let go as soon as the offsets allow.
- AllocateProducerIds: the broker epoch must be current (STALE_BROKER_EPOCH); each request gets the
  next block of 1000 ids (``ProducerIdsRecord``: the block's end), so ids are unique cluster-wide.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from kavka.metadata.ids import uuid_to_str
from kavka.metadata.image import BrokerRegistration, MetadataImage
from kavka.metadata.records import (
    FENCE,
    IN_CONTROLLED_SHUTDOWN,
    UNFENCE,
    BrokerEndpoint,
    BrokerFeature,
    BrokerRegistrationChangeRecord,
    MetadataRecord,
    ProducerIdsRecord,
    RegisterBrokerRecord,
)
from kavka.protocol.api import ErrorCode

__all__ = [
    "BrokerControl",
    "BrokerControlError",
    "BrokerRegistrationRequest",
    "BrokerHeartbeatRequest",
    "BrokerHeartbeatReply",
    "BrokerState",
    "PRODUCER_ID_BLOCK_SIZE",
    "DEFAULT_SESSION_TIMEOUT_MS",
]

PRODUCER_ID_BLOCK_SIZE = 1000  # Kafka's ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE
DEFAULT_SESSION_TIMEOUT_MS = 9000  # broker.session.timeout.ms
_MAX_PRODUCER_ID = 2**63 - 1


class BrokerControlError(Exception):
    """A broker request refused with a Kafka error code; ``str()`` is Kafka's message."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class BrokerRegistrationRequest:
    """The fields of a BrokerRegistration request (key 62) the controller reads."""

    broker_id: int
    cluster_id: str
    incarnation_id: uuid.UUID
    listeners: tuple[BrokerEndpoint, ...]
    features: tuple[BrokerFeature, ...]
    rack: str | None = None
    log_dirs: tuple[uuid.UUID, ...] = ()
    is_migrating_zk_broker: bool = False
    previous_broker_epoch: int = -1


@dataclass(frozen=True)
class BrokerHeartbeatRequest:
    """The fields of a BrokerHeartbeat request (key 63) the controller reads."""

    broker_id: int
    broker_epoch: int
    current_metadata_offset: int
    want_fence: bool = False
    want_shut_down: bool = False


@dataclass(frozen=True)
class BrokerHeartbeatReply:
    is_caught_up: bool
    is_fenced: bool
    is_in_controlled_shutdown: bool
    should_shut_down: bool


class BrokerState(enum.Enum):
    """Kafka's ``BrokerControlState``: (fenced, in controlled shutdown, should shut down)."""

    FENCED = (True, False, False)
    UNFENCED = (False, False, False)
    CONTROLLED_SHUTDOWN = (False, True, False)
    SHUTDOWN_NOW = (True, False, True)

    @property
    def fenced(self) -> bool:
        return self.value[0]

    @property
    def in_controlled_shutdown(self) -> bool:
        return self.value[1]

    @property
    def should_shut_down(self) -> bool:
        return self.value[2]


@dataclass
class _Soft:
    """One broker's soft state (see the module docstring)."""

    metadata_offset: int = -1
    controlled_shutdown_offset: int = -1  # -1: not in controlled shutdown
    registration_offset: int | None = None


def _reserved_dir(d: uuid.UUID) -> bool:
    """Kafka's ``DirectoryId.reserved``: the first 100 ids (UNASSIGNED, LOST, MIGRATING, ...)."""
    return d.int < 100


@dataclass
class BrokerControl:
    """The controller's broker bookkeeping; the soft state of the active controller."""

    session_timeout_ms: int = DEFAULT_SESSION_TIMEOUT_MS
    # (broker id, broker epoch) -> last contact (ms): Kafka's BrokerHeartbeatTracker
    _contacts: dict[tuple[int, int], int] = field(default_factory=dict)
    _soft: dict[int, _Soft] = field(default_factory=dict)
    _local: set[int] = field(default_factory=set)

    # ---- activation -------------------------------------------------------------------------

    def activate(self, image: MetadataImage, now_ms: int) -> None:
        """This controller became active: forget soft state and start every unfenced broker's session
        timer now (a broker that never heartbeats this controller is fenced one session later)."""
        self._contacts.clear()
        self._soft.clear()
        self._local.clear()
        for b in image.brokers.values():
            if not b.fenced:
                self._contacts[(b.broker_id, b.broker_epoch)] = now_ms

    def _soft_of(self, broker_id: int) -> _Soft:
        soft = self._soft.get(broker_id)
        if soft is None:
            soft = self._soft[broker_id] = _Soft()
        return soft

    def registration_offset(self, registration: BrokerRegistration) -> int:
        soft = self._soft.get(registration.broker_id)
        if soft is not None and soft.registration_offset is not None:
            return soft.registration_offset
        return registration.broker_epoch

    def has_valid_session(self, broker_id: int, broker_epoch: int, now_ms: int) -> bool:
        if broker_id in self._local:
            return True
        last = self._contacts.get((broker_id, broker_epoch))
        return last is not None and last + self.session_timeout_ms >= now_ms

    # ---- registration -----------------------------------------------------------------------

    def register(
        self,
        image: MetadataImage,
        request: BrokerRegistrationRequest,
        next_offset: int,
        finalized: Mapping[str, int],
        now_ms: int,
        *,
        require_log_dirs: bool = True,
        local: bool = False,
        cleanup: Callable[[int], list[MetadataRecord]] | None = None,
    ) -> tuple[int, list[MetadataRecord]]:
        """``(broker epoch, records)``: the ``RegisterBrokerRecord``, after what ``cleanup(broker_id)``
        returns for a new incarnation (the partition changes that take the previous one out of ISRs
        and leadership, Kafka's ``BrokerShutdownHandler``). ``next_offset`` is the offset of the first
        record; the broker epoch is that offset, as in Kafka. Raises ``BrokerControlError``.
        ``finalized``: each feature's finalized level; the cluster id is the image's."""
        if request.cluster_id != image.cluster_id:
            raise BrokerControlError(
                ErrorCode.inconsistent_cluster_id,
                f"Expected cluster ID {image.cluster_id}, but got cluster ID {request.cluster_id}",
            )
        broker_id = request.broker_id
        existing = image.brokers.get(broker_id)
        if (
            existing is not None
            and not local
            and self.has_valid_session(broker_id, existing.broker_epoch, now_ms)
            and request.incarnation_id != existing.incarnation_id
        ):
            raise BrokerControlError(
                ErrorCode.duplicate_broker_registration,
                "Another broker is registered with that broker id. If the broker was recently restarted "
                "this should self-resolve once the heartbeat manager expires the broker's session.",
            )
        if request.is_migrating_zk_broker:
            raise BrokerControlError(
                ErrorCode.broker_id_not_registered, "Controller does not support registering ZK brokers."
            )
        if require_log_dirs or request.log_dirs:
            self._check_log_dirs(image, broker_id, request.log_dirs)
        self._check_features(request.features, finalized)

        same_incarnation = existing is not None and existing.incarnation_id == request.incarnation_id
        if existing is not None and same_incarnation:
            epoch, fenced, in_shutdown = existing.broker_epoch, existing.fenced, existing.in_controlled_shutdown
        else:
            epoch, fenced, in_shutdown = next_offset, True, False
        record = RegisterBrokerRecord(
            broker_id=broker_id,
            incarnation_id=request.incarnation_id,
            broker_epoch=epoch,
            endpoints=request.listeners,
            rack=request.rack,
            fenced=fenced,
            in_controlled_shutdown=in_shutdown,
            features=request.features,
            log_dirs=request.log_dirs,
        )
        before = cleanup(broker_id) if cleanup is not None and not same_incarnation else []
        soft = self._soft_of(broker_id)
        if not same_incarnation:
            self._local.discard(broker_id)
            soft.controlled_shutdown_offset = -1
        soft.registration_offset = next_offset + len(before)
        return epoch, [*before, record]

    def register_local(
        self,
        image: MetadataImage,
        request: BrokerRegistrationRequest,
        next_offset: int,
        finalized: Mapping[str, int],
        now_ms: int,
    ) -> tuple[int, list[MetadataRecord]]:
        """Register a broker that runs in this controller's process and has applied every record:
        the registration and its unfencing in one batch, and a session that never expires while this
        controller is active (the broker lives as long as the controller does). Log directories are
        checked only when given (there is no request from a remote broker to validate), and an earlier
        incarnation's session is no obstacle: that process is gone, since this one is the node (the
        session timer it has left was started by this controller's activation, not by heartbeats)."""
        epoch, records = self.register(
            image, request, next_offset, finalized, now_ms, require_log_dirs=False, local=True
        )
        existing = image.brokers.get(request.broker_id)
        if existing is None or existing.incarnation_id != request.incarnation_id or existing.fenced:
            records.append(BrokerRegistrationChangeRecord(request.broker_id, epoch, fenced=UNFENCE))
        self._local.add(request.broker_id)
        self._contacts[(request.broker_id, epoch)] = now_ms
        return epoch, records

    @staticmethod
    def _check_log_dirs(image: MetadataImage, broker_id: int, log_dirs: Sequence[uuid.UUID]) -> None:
        if not log_dirs:
            raise BrokerControlError(ErrorCode.invalid_registration, "No directories specified in request")
        if any(_reserved_dir(d) for d in log_dirs):
            raise BrokerControlError(ErrorCode.invalid_registration, "Reserved directory ID in request")
        if len(set(log_dirs)) != len(log_dirs):
            raise BrokerControlError(ErrorCode.invalid_registration, "Duplicate directory ID in request")
        for other in image.brokers.values():
            if other.broker_id != broker_id:
                for d in log_dirs:
                    if d in other.log_dirs:
                        raise BrokerControlError(
                            ErrorCode.invalid_registration,
                            f"Broker {other.broker_id} is already registered with directory {uuid_to_str(d)}",
                        )

    @staticmethod
    def _check_features(features: Sequence[BrokerFeature], finalized: Mapping[str, int]) -> None:
        named = {f.name: f for f in features}
        if "metadata.version" not in named:
            raise BrokerControlError(
                ErrorCode.invalid_registration, "Request features do not contain 'metadata.version'"
            )
        checks = list(features)
        checks += [BrokerFeature(n, 0, 0) for n, level in finalized.items() if level != 0 and n not in named]
        for f in checks:
            level = finalized.get(f.name, 0)
            if not f.min_supported_version <= level <= f.max_supported_version:
                raise BrokerControlError(
                    ErrorCode.unsupported_version,
                    f"Unable to register because the broker does not support finalized version {level} of "
                    f"{f.name}. The broker wants a version between {f.min_supported_version} and "
                    f"{f.max_supported_version}, inclusive.",
                )

    # ---- heartbeats -------------------------------------------------------------------------

    def check_broker_epoch(self, image: MetadataImage, broker_id: int, broker_epoch: int) -> BrokerRegistration:
        registration = image.brokers.get(broker_id)
        if registration is None:
            raise BrokerControlError(
                ErrorCode.stale_broker_epoch, f"No broker registration found for broker id {broker_id}"
            )
        if registration.broker_epoch != broker_epoch:
            raise BrokerControlError(
                ErrorCode.stale_broker_epoch,
                f"Expected broker epoch {registration.broker_epoch}, but got broker epoch {broker_epoch}",
            )
        return registration

    def _current_state(self, registration: BrokerRegistration) -> BrokerState:
        soft = self._soft.get(registration.broker_id)
        if soft is not None and soft.controlled_shutdown_offset >= 0 and not registration.fenced:
            return BrokerState.CONTROLLED_SHUTDOWN
        return BrokerState.FENCED if registration.fenced else BrokerState.UNFENCED

    def _lowest_active_offset(self, image: MetadataImage, but: int) -> int:
        """The lowest metadata offset reported by an active broker (unfenced, not shutting down)."""
        lowest = None
        for b in image.brokers.values():
            if b.fenced or b.broker_id == but:
                continue
            soft = self._soft.get(b.broker_id)
            if soft is not None and soft.controlled_shutdown_offset >= 0:
                continue
            offset = soft.metadata_offset if soft is not None else -1
            lowest = offset if lowest is None else min(lowest, offset)
        return 2**63 - 1 if lowest is None else lowest

    def heartbeat(
        self,
        image: MetadataImage,
        request: BrokerHeartbeatRequest,
        next_offset: int,
        now_ms: int,
        has_leaderships: Callable[[int], bool],
        on_transition: Callable[[int, BrokerState], tuple[list[MetadataRecord], list[MetadataRecord]]] | None = None,
    ) -> tuple[BrokerHeartbeatReply, list[MetadataRecord]]:
        """One heartbeat: the reply and the records (a fencing change, entering controlled shutdown).

        ``has_leaderships(broker_id)``: whether the broker still leads a partition (a controlled shutdown
        waits until it leads none). ``on_transition(broker_id, next_state)``, called when the state
        changes: the partition changes that go with it, as the records to put before and after the
        broker's own (``controller.replication``). ``next_offset``: the offset the first record
        returned will get."""
        registration = self.check_broker_epoch(image, request.broker_id, request.broker_epoch)
        broker_id, epoch = request.broker_id, request.broker_epoch
        registration_offset = self.registration_offset(registration)
        soft = self._soft_of(broker_id)
        current = self._current_state(registration)
        nxt = self._next_state(image, current, request, registration_offset, soft, has_leaderships)
        records: list[MetadataRecord] = []
        after: list[MetadataRecord] = []
        if nxt is not current:
            if on_transition is not None:
                records, after = on_transition(broker_id, nxt)
            if nxt in (BrokerState.FENCED, BrokerState.SHUTDOWN_NOW):
                records.append(BrokerRegistrationChangeRecord(broker_id, epoch, fenced=FENCE))
            elif nxt is BrokerState.UNFENCED:
                records.append(BrokerRegistrationChangeRecord(broker_id, epoch, fenced=UNFENCE))
            elif nxt is BrokerState.CONTROLLED_SHUTDOWN and not registration.in_controlled_shutdown:
                records.append(
                    BrokerRegistrationChangeRecord(broker_id, epoch, in_controlled_shutdown=IN_CONTROLLED_SHUTDOWN)
                )
            records += after
        if nxt is BrokerState.CONTROLLED_SHUTDOWN and soft.controlled_shutdown_offset < 0:
            # complete once every active broker has seen what entering the shutdown wrote
            soft.controlled_shutdown_offset = next_offset + len(records) - 1
        if nxt.fenced:
            soft.controlled_shutdown_offset = -1
            self._local.discard(broker_id)
        soft.metadata_offset = request.current_metadata_offset
        self._contacts[(broker_id, epoch)] = now_ms
        reply = BrokerHeartbeatReply(
            is_caught_up=request.current_metadata_offset >= registration_offset,
            is_fenced=nxt.fenced,
            is_in_controlled_shutdown=nxt.in_controlled_shutdown,
            should_shut_down=nxt.should_shut_down,
        )
        return reply, records

    def _next_state(
        self,
        image: MetadataImage,
        current: BrokerState,
        request: BrokerHeartbeatRequest,
        registration_offset: int,
        soft: _Soft,
        has_leaderships: Callable[[int], bool],
    ) -> BrokerState:
        """Kafka's ``BrokerHeartbeatManager.calculateNextBrokerState``."""
        broker_id = request.broker_id
        if current is BrokerState.FENCED:
            if request.want_shut_down:
                return BrokerState.SHUTDOWN_NOW
            if not request.want_fence and request.current_metadata_offset >= registration_offset:
                return BrokerState.UNFENCED
            return BrokerState.FENCED
        if current is BrokerState.UNFENCED:
            if request.want_fence:
                return BrokerState.SHUTDOWN_NOW if request.want_shut_down else BrokerState.FENCED
            if request.want_shut_down:
                return BrokerState.CONTROLLED_SHUTDOWN if has_leaderships(broker_id) else BrokerState.SHUTDOWN_NOW
            return BrokerState.UNFENCED
        if current is BrokerState.CONTROLLED_SHUTDOWN:
            if has_leaderships(broker_id):
                return BrokerState.CONTROLLED_SHUTDOWN
            if soft.controlled_shutdown_offset <= self._lowest_active_offset(image, broker_id):
                return BrokerState.SHUTDOWN_NOW
            return BrokerState.CONTROLLED_SHUTDOWN
        return BrokerState.SHUTDOWN_NOW

    # ---- session expiry ---------------------------------------------------------------------

    def fence_stale_brokers(self, image: MetadataImage, now_ms: int) -> list[MetadataRecord]:
        """Fence every unfenced broker whose session has expired (Kafka fences one per controller
        event, each visible before the next; with no partition changes to order, one batch does)."""
        records: list[MetadataRecord] = []
        for (broker_id, epoch), last in list(self._contacts.items()):
            if broker_id in self._local or last + self.session_timeout_ms >= now_ms:
                continue
            del self._contacts[(broker_id, epoch)]
            registration = image.brokers.get(broker_id)
            if registration is not None and registration.broker_epoch == epoch and not registration.fenced:
                records.append(BrokerRegistrationChangeRecord(broker_id, epoch, fenced=FENCE))
                soft = self._soft.get(broker_id)
                if soft is not None:
                    soft.controlled_shutdown_offset = -1
        return records

    def next_session_deadline(self) -> int | None:
        """When (ms) the next session would expire, for the driver's timer; None if none can."""
        deadlines = [t + self.session_timeout_ms for (b, _), t in self._contacts.items() if b not in self._local]
        return min(deadlines) if deadlines else None

    # ---- producer ids -----------------------------------------------------------------------

    def allocate_producer_ids(
        self, image: MetadataImage, broker_id: int, broker_epoch: int
    ) -> tuple[int, int, list[MetadataRecord]]:
        """``(first id, block size, [ProducerIdsRecord])`` (Kafka's ``generateNextProducerId``)."""
        self.check_broker_epoch(image, broker_id, broker_epoch)
        first = image.next_producer_id
        if first > _MAX_PRODUCER_ID - PRODUCER_ID_BLOCK_SIZE:
            raise BrokerControlError(
                ErrorCode.unknown_server_error,
                "Exhausted all producerIds as the next block's end producerId has exceeded the int64 type limit",
            )
        record = ProducerIdsRecord(broker_id, broker_epoch, first + PRODUCER_ID_BLOCK_SIZE)
        return first, PRODUCER_ID_BLOCK_SIZE, [record]
