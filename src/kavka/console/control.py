"""Stopping, pausing and restarting the nodes of a ``kavka cluster up`` cluster from any node's console.

Only a node that ``kavka cluster up`` started can do this: the supervisor sets ``KAVKA_CLUSTER_DIR`` on
every node it starts, and writes under that directory (:mod:`kavka.cli.cluster`)::

    cluster.json              {"cluster_id", "supervisor_pid", "nodes": [{"node_id", "roles", "config",
                              "log", "pid_file", "broker", "controller", "console", "command"}]}
    node-<id>/kavka.pid       the running node's process id (removed when it exits)
    node-<id>/restart.request written here to ask the supervisor for a restart

Actions, by signal as an operator would send them: ``stop`` SIGTERM (a controlled shutdown), ``kill``
SIGKILL, ``pause`` SIGSTOP (the process freezes: its sessions expire, its sockets stay open), ``resume``
SIGCONT, ``restart`` (the supervisor stops the node if it runs and starts it again with its command
line: the node is the supervisor's child, not this console's). A pid is signalled only while its
command line still names the node's config file, so a recycled pid is never hit. Elsewhere every action
is refused with a :class:`ConsoleError` saying why.

A node reads its own entry too: stopping or killing the node that serves this console is allowed (the
signal goes out just after the answer); pausing it is refused, since nothing on it could resume it.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from kavka.console.state import ConsoleError

__all__ = ["ClusterControl", "ACTIONS", "CLUSTER_DIR_ENV", "not_controllable"]

CLUSTER_DIR_ENV = "KAVKA_CLUSTER_DIR"  # kavka.cli.cluster sets it (the console may not import the CLI)
CLUSTER_FILE, RESTART_REQUEST = "cluster.json", "restart.request"
ACTIONS = {"stop": signal.SIGTERM, "kill": signal.SIGKILL, "pause": signal.SIGSTOP, "resume": signal.SIGCONT}


def not_controllable() -> ConsoleError:
    return ConsoleError(
        409,
        "Cluster control needs a cluster started by `kavka cluster up` (this node was not started by it); "
        "stop, pause or restart this cluster's nodes with whatever started them.",
    )


def process_state(pid: int) -> str:
    """``running``, ``paused`` (stopped by a signal: SIGSTOP) or ``stopped`` (no such process, or a zombie),
    from ``/proc/<pid>/stat``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "stopped"
    code = stat.rpartition(")")[2].split()[0]  # the command in (...) may hold spaces
    if code in ("T", "t"):
        return "paused"
    if code in ("Z", "X"):
        return "stopped"
    return "running"


class ClusterControl:
    """The nodes of the cluster under ``home`` as this console (on node ``own_id``) sees them."""

    def __init__(self, home: Path, own_id: int) -> None:
        self.home = home
        self.own_id = own_id

    @classmethod
    def discover(cls, own_id: int) -> ClusterControl | None:
        """From ``KAVKA_CLUSTER_DIR``; None when this node was not started by ``kavka cluster up``."""
        value = os.environ.get(CLUSTER_DIR_ENV)
        if not value or not (Path(value) / CLUSTER_FILE).is_file():
            return None
        return cls(Path(value), own_id)

    def _entries(self) -> list[dict]:
        try:
            return list(json.loads((self.home / CLUSTER_FILE).read_text())["nodes"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ConsoleError(500, f"cannot read {self.home / CLUSTER_FILE}: {e}") from None

    def _pid(self, entry: dict) -> int | None:
        """The node's live pid, or None: no pid file, no such process, or one running something else."""
        try:
            pid = int(Path(entry["pid_file"]).read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return None
        if entry["config"].encode() not in cmdline:
            return None  # the node exited and its pid went to another process
        return pid

    def nodes(self) -> list[dict]:
        """Each node: ``node_id``, ``roles``, ``pid`` (None when not running), ``process`` (running,
        paused, stopped), ``console`` URL, ``broker`` and ``controller`` addresses, ``log``, and whether
        it serves this console (``this``)."""
        out = []
        for e in self._entries():
            pid = self._pid(e)
            out.append(
                {
                    "node_id": e["node_id"],
                    "roles": e["roles"],
                    "pid": pid,
                    "process": process_state(pid) if pid is not None else "stopped",
                    "console": e.get("console"),
                    "broker": e.get("broker"),
                    "controller": e.get("controller"),
                    "log": e.get("log"),
                    "this": e["node_id"] == self.own_id,
                }
            )
        return out

    def act(self, node_id: int, action: str) -> tuple[dict, int | None]:
        """Check and prepare ``action`` on ``node_id``: returns (the answer, a signal to send to this
        very process after answering, or None). Other nodes are signalled here, a restart is requested
        from the supervisor. ConsoleError for an unknown node or action, or one that cannot apply."""
        if action != "restart" and action not in ACTIONS:
            raise ConsoleError(400, f"Unknown action {action!r}: use stop, kill, pause, resume or restart.")
        entry = next((e for e in self._entries() if e["node_id"] == node_id), None)
        if entry is None:
            raise ConsoleError(404, f"Node {node_id} is not in this cluster ({self.home / CLUSTER_FILE}).")
        if action == "restart":
            request = Path(entry["pid_file"]).with_name(RESTART_REQUEST)
            try:
                request.write_text("restart\n")
            except OSError as e:
                raise ConsoleError(500, f"cannot ask for a restart ({request}): {e.strerror}") from None
            return {"node_id": node_id, "action": action, "requested": True}, None
        pid = self._pid(entry)
        if pid is None:
            raise ConsoleError(409, f"Node {node_id} is not running; restart it to start it again.")
        own = node_id == self.own_id
        if own and action == "pause":
            raise ConsoleError(
                409,
                f"Node {node_id} serves this console: paused, nothing on it could resume it. "
                "Pause it from another node's console.",
            )
        answer = {"node_id": node_id, "action": action, "pid": pid, "signal": ACTIONS[action].name}
        if own:
            return answer, ACTIONS[action]
        try:
            os.kill(pid, ACTIONS[action])
        except ProcessLookupError:
            raise ConsoleError(409, f"Node {node_id} is not running; restart it to start it again.") from None
        return answer, None
