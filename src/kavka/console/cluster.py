"""The cluster as the console shows it: brokers, the active controller, every partition's leader,
replicas, ISR, log end offsets and high watermark, and the guide's replication panel for one partition.

Where each figure comes from:

- brokers, controllers, leaders, leader epochs, replicas and ISR: the committed metadata image of this
  node (the same on every node once committed);
- log end offset and high watermark of a replica: the node hosting it, from its
  :func:`local_view` (its replica manager's partitions). This node's own view is read in process; the
  other nodes' are fetched from their consoles (``GET /api/cluster/local``), which this console knows
  in a ``kavka cluster up`` cluster (``cluster.json``, :mod:`kavka.console.control`). A follower that
  does not answer (stopped, paused) shows what its leader knows of it (the log end offset of its last
  fetch); a partition whose leader does not answer shows no offsets;
- process states (running, paused, stopped) in a ``kavka cluster up`` cluster: ``/proc``.

:func:`replication_panel` turns one partition of the view into the guide's drawing: a box per replica
("Broker 0 — LEADER", "Broker 1 — Follower") listing the leader's last offsets, each ✓ when that
replica has it or ⏳ when not yet, and one status line ("Cluster healthy. Broker 0 is leader. RF=3,
ISR=[0,1,2]").
"""

from __future__ import annotations

import asyncio
import logging

from kavka.console.state import health
from kavka.metadata.internal_topics import is_internal

__all__ = ["local_view", "cluster_view", "partition_state", "replication_panel", "PANEL_OFFSETS"]

log = logging.getLogger(__name__)

PANEL_OFFSETS = 4  # the guide draws four offsets per broker
PEER_TIMEOUT_S = 0.8


def local_view(broker) -> dict:
    """This node's replicas: for each hosted partition its role, log end offset, high watermark and, on
    a leader, what it knows of each follower (keys ``"topic/partition"``)."""
    partitions = {}
    for (topic, index), p in broker.replica_manager.partitions.items():
        plog = p.log
        entry = {
            "is_leader": p.is_leader,
            "leader_epoch": p.leader_epoch,
            "isr": list(p.isr),
            "offline": p.offline,
            "log_start_offset": plog.log_start_offset,
            "log_end_offset": plog.log_end_offset,
            "high_watermark": plog.high_watermark,
        }
        if p.is_leader:
            entry["followers"] = {
                str(node): {
                    "log_end_offset": f.log_end_offset,
                    "last_fetch_ms": f.last_fetch_ms,
                    "last_caught_up_ms": f.last_caught_up_ms,
                }
                for node, f in p.followers.items()
            }
        else:
            entry["fetch_lag"] = p.fetch_lag
        partitions[f"{topic}/{index}"] = entry
    return {"node_id": broker.node_id, "partitions": partitions}


async def _peer_views(nodes: list[dict]) -> dict[int, dict]:
    """``GET /api/cluster/local`` of each other node's console, concurrently; a node that does not answer
    within PEER_TIMEOUT_S is left out."""
    import aiohttp

    timeout = aiohttp.ClientTimeout(total=PEER_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def one(node: dict) -> tuple[int, dict | None]:
            try:
                async with session.get(node["console"] + "/api/cluster/local") as resp:
                    if resp.status == 200:
                        return node["node_id"], await resp.json()
            except (aiohttp.ClientError, TimeoutError, ValueError) as e:
                log.debug("no local view from node %s: %s", node["node_id"], e)
            return node["node_id"], None

        answers = await asyncio.gather(*(one(n) for n in nodes))
    return {node_id: view for node_id, view in answers if view is not None}


def _broker_state(reg) -> str:
    if reg.fenced:
        return "fenced"
    if reg.in_controlled_shutdown:
        return "controlled shutdown"
    return "running"


async def cluster_view(broker, control=None) -> dict:
    """The whole cluster (see the module docstring); ``control`` is this console's
    :class:`~kavka.console.control.ClusterControl`, or None outside a ``kavka cluster up`` cluster."""
    image = broker.image
    views = {broker.node_id: local_view(broker)}
    processes: dict[int, dict] = {}
    if control is not None:
        nodes = control.nodes()
        processes = {n["node_id"]: n for n in nodes}
        peers = [n for n in nodes if not n["this"] and n["console"] and n["process"] == "running"]
        views.update(await _peer_views(peers))
    controller_id = broker.active_controller_id
    brokers = []
    for node_id, reg in sorted(image.brokers.items()):
        endpoint = reg.endpoints[0] if reg.endpoints else None
        proc = processes.get(node_id, {})
        brokers.append(
            {
                "node_id": node_id,
                "host": endpoint.host if endpoint is not None else None,
                "port": endpoint.port if endpoint is not None else None,
                "rack": reg.rack,
                "epoch": reg.broker_epoch,
                "state": _broker_state(reg),
                "process": proc.get("process"),
                "pid": proc.get("pid"),
                "is_controller": node_id == controller_id,
                "this": node_id == broker.node_id,
                "answering": node_id in views,
            }
        )
    voters = sorted(broker.voters) or ([broker.node_id] if broker.is_controller_role else [])
    nodes = []
    for node_id in sorted(set(voters) | set(image.brokers) | set(processes)):
        proc = processes.get(node_id, {})
        nodes.append(
            {
                "node_id": node_id,
                "roles": proc.get("roles")
                or (["broker"] if node_id in image.brokers else []) + (["controller"] if node_id in voters else []),
                "voter": node_id in voters,
                "registered": node_id in image.brokers,
                "process": proc.get("process"),
                "pid": proc.get("pid"),
                "console": proc.get("console"),
                "is_controller": node_id == controller_id,
                "this": node_id == broker.node_id,
            }
        )
    partitions = []
    for name in sorted(image.topics_by_name):
        topic = image.topics_by_name[name]
        for index, pimg in sorted(topic.partitions.items()):
            partitions.append(partition_state(name, index, pimg, views))
    return {
        "cluster_id": broker.cluster_id,
        "node_id": broker.node_id,
        "active_controller_id": controller_id,
        "controller_epoch": broker.quorum.node.epoch if broker.quorum is not None else None,
        "voters": voters,
        "controllable": control is not None,
        "nodes": nodes,
        "brokers": brokers,
        "health": health(broker),
        "partitions": partitions,
    }


def partition_state(topic: str, index: int, pimg, views: dict[int, dict]) -> dict:
    """One partition of the view: the image's leader, ISR and replicas, with each replica's offsets from
    ``views`` ({node id: its :func:`local_view`}, the nodes that answered)."""
    key = f"{topic}/{index}"
    leader_view = views.get(pimg.leader, {}).get("partitions", {}).get(key) if pimg.leader >= 0 else None
    if leader_view is not None and not leader_view["is_leader"]:
        leader_view = None  # it has not taken the leadership the image gives it yet
    followers = (leader_view or {}).get("followers", {})
    replicas = []
    for rid in pimg.replicas:
        own = views.get(rid, {}).get("partitions", {}).get(key)
        leo = hw = None
        source = None
        if rid == pimg.leader and leader_view is not None:
            leo, hw, source = leader_view["log_end_offset"], leader_view["high_watermark"], "leader"
        elif own is not None:
            leo, hw, source = own["log_end_offset"], own["high_watermark"], "replica"
        elif str(rid) in followers and followers[str(rid)]["log_end_offset"] >= 0:
            leo, source = followers[str(rid)]["log_end_offset"], "leader's view"
        replicas.append(
            {
                "node_id": rid,
                "is_leader": rid == pimg.leader,
                "in_isr": rid in pimg.isr,
                "log_end_offset": leo,
                "high_watermark": hw,
                "source": source,
            }
        )
    leader_leo = leader_view["log_end_offset"] if leader_view is not None else None
    for r in replicas:
        r["lag"] = (
            max(0, leader_leo - r["log_end_offset"])
            if leader_leo is not None and r["log_end_offset"] is not None
            else None
        )
    return {
        "topic": topic,
        "partition": index,
        "internal": is_internal(topic),
        "leader": pimg.leader,
        "leader_epoch": pimg.leader_epoch,
        "partition_epoch": pimg.partition_epoch,
        "replicas": list(pimg.replicas),
        "isr": list(pimg.isr),
        "offline": pimg.leader < 0,
        "under_replicated": len(pimg.isr) < len(pimg.replicas),
        "log_end_offset": leader_leo,
        "high_watermark": leader_view["high_watermark"] if leader_view is not None else None,
        "replica_states": replicas,
    }


def replication_panel(view: dict, topic: str, partition: int) -> dict | None:
    """The guide's replication panel for one partition of a :func:`cluster_view`, or None if the view
    has no such partition.

    ``brokers``: one box per replica, the leader first, each with its ``title`` ("Broker 0 — LEADER",
    "Broker 1 — Follower", with "(out of ISR)", "(fenced)", "(paused)", "(stopped)" or "(not answering)"
    when so) and ``offsets``: the leader's last PANEL_OFFSETS offsets, oldest first, each with
    ``replicated`` (this replica's log end offset is past it; None when unknown) and ``latest`` (the
    leader's last). ``status``: one line, the guide's "Cluster healthy. Broker 0 is leader. RF=3,
    ISR=[0,1,2]" when every replica is in the ISR under a live leader; else it names what is wrong."""
    row = next((p for p in view["partitions"] if p["topic"] == topic and p["partition"] == partition), None)
    if row is None:
        return None
    brokers = {b["node_id"]: b for b in view["brokers"]}
    leader, isr, rf = row["leader"], row["isr"], len(row["replicas"])
    leo = row["log_end_offset"]
    shown = list(range(max(0, leo - PANEL_OFFSETS), leo)) if leo is not None else []
    boxes = []
    for r in sorted(row["replica_states"], key=lambda r: (not r["is_leader"], row["replicas"].index(r["node_id"]))):
        b = brokers.get(r["node_id"], {})
        notes = []
        if not r["in_isr"]:
            notes.append("out of ISR")
        if b.get("process") in ("paused", "stopped"):
            notes.append(b["process"])
        elif b.get("state") not in (None, "running"):
            notes.append(b["state"])
        elif b and not b.get("answering") and view["controllable"]:
            notes.append("not answering")
        role = "LEADER" if r["is_leader"] else "Follower"
        title = f"Broker {r['node_id']} — {role}" + (f" ({', '.join(notes)})" if notes else "")
        have = r["log_end_offset"]
        offsets = [
            {
                "offset": o,
                "replicated": None if have is None else o < have,
                "latest": r["is_leader"] and o == leo - 1,
            }
            for o in shown
        ]
        boxes.append({"node_id": r["node_id"], "role": role, "title": title, "notes": notes, "offsets": offsets, **r})
    isr_text = "[" + ",".join(str(i) for i in isr) + "]"
    lb = brokers.get(leader, {})
    leader_state = lb.get("process") if lb.get("process") in ("paused", "stopped") else lb.get("state", "unknown")
    if leader < 0:
        status = f"Partition offline: no leader. RF={rf}, ISR={isr_text}"
    elif leader_state != "running":
        status = f"Leader unavailable: broker {leader} is {leader_state}. RF={rf}, ISR={isr_text}"
    elif len(isr) < rf:
        out = [r for r in row["replicas"] if r not in isr]
        status = (
            f"Under-replicated: broker{'s' if len(out) > 1 else ''} {', '.join(map(str, out))} out of the ISR. "
            f"Broker {leader} is leader. RF={rf}, ISR={isr_text}"
        )
    else:
        status = f"Cluster healthy. Broker {leader} is leader. RF={rf}, ISR={isr_text}"
    return {
        "topic": topic,
        "partition": partition,
        "leader": leader,
        "leader_epoch": row["leader_epoch"],
        "replicas": row["replicas"],
        "isr": isr,
        "log_end_offset": leo,
        "high_watermark": row["high_watermark"],
        "healthy": status.startswith("Cluster healthy"),
        "status": status,
        "brokers": boxes,
    }
