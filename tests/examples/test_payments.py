"""The guide's Payment & Banking design (``kavka demo payments``) on a real Kavka broker process.

The end-to-end test runs the Payment API and the processor as their own processes, sends a seeded
workload over HTTP (duplicated Idempotency-Keys, payments that would overdraw, payments over the fraud
limit, a hot account), kills the processor with SIGKILL at random points, kills the API once and kills
the broker with SIGKILL once (restarted on the same port and data dir), freezes the processor and
starts another (the old one, resumed, must be fenced by its transactional.id), and then checks the
committed history of every topic with `tests.examples.paymentscheck`, the API's GET answers, and the
audit log once compacted. The same run (without the broker kill) goes against Apache Kafka. The
checker's own test proves each of its rules can fail; two more run ``kavka demo payments`` itself.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import confluent_kafka
import pytest

from kavka.demos.payments.fraud import DEFAULT_FRAUD_LIMIT
from kavka.demos.payments.kafkaio import read_topic
from kavka.demos.payments.ledger import DEFAULT_ACCOUNTS, Ledger
from kavka.demos.payments.topics import (
    BALANCE_EVENTS,
    PAYMENT_AUDIT,
    PAYMENT_COMPLETED,
    PAYMENT_FAILED,
    PAYMENT_INITIATED,
    AccountPartitioner,
    TopicPlan,
    ensure_topics,
)
from kavka.demos.payments.workload import Answer, PaymentRequest, make_workload, send_until_answered
from kavka.demos.process import Service, free_port
from kavka.testing.process import BrokerProcess, wait_until
from tests.examples.paymentscheck import History, check, compaction_problems

SEED = int(os.environ.get("KAVKA_PAYMENTS_SEED", "20261205"))
PAYMENTS = 160

# The audit log rolls a segment every 100 ms of writes and is cleaned as soon as 1% of it is dirty;
# the broker's cleaner looks for work every 100 ms instead of every 15 s.
AUDIT_CONFIGS = {"segment.ms": "100", "segment.bytes": "1048576", "min.cleanable.dirty.ratio": "0.01"}
BROKER_OVERRIDES = {"log.cleaner.backoff.ms": "100", "num.partitions": "1"}


def _read(bootstrap: str, topic: str) -> list:
    return list(read_topic(bootstrap, topic, timeout=30))


def _cleaner_checkpoints(broker: BrokerProcess, topic: str) -> dict[int, int]:
    path = broker.data_dir / "cleaner-offset-checkpoint"
    if not path.exists():
        return {}
    lines = path.read_text().splitlines()[2:]
    out = {}
    for line in lines:
        name, partition, offset = line.split()
        if name == topic:
            out[int(partition)] = int(offset)
    return out


def _services(bootstrap: str, tmp_path: Path) -> tuple[Service, Service, str]:
    port = free_port()
    api = Service(
        "payment API",
        "kavka.demos.payments.api",
        ["--bootstrap-servers", bootstrap, "--port", str(port)],
        tmp_path / "api.log",
        "payment API ready",
    )
    processor = Service(
        "payment processor",
        "kavka.demos.payments.processor",
        ["--bootstrap-servers", bootstrap],
        tmp_path / "processor.log",
        "payment processor ready",
    )
    return api, processor, f"http://127.0.0.1:{port}/payments"


def test_payments_exactly_once_through_processor_api_and_broker_crashes(
    broker_factory: Callable[..., BrokerProcess], tmp_path: Path
) -> None:
    broker = broker_factory(overrides=BROKER_OVERRIDES)
    ensure_topics(broker.bootstrap, TopicPlan(extra_configs={PAYMENT_AUDIT: AUDIT_CONFIGS}))
    faults = ["processor", "processor", "processor", "broker", "api", "zombie"]
    history = _run_with_faults(broker.bootstrap, tmp_path, PAYMENTS, faults, broker=broker)

    # The audit log after compaction: wait for the cleaner to pass over every partition, then its
    # latest state per account and per payment is still the ledger's (the same checker on the
    # compacted log) while older states are gone. The processor wrote account:<id> at each opening,
    # both accounts and the payment per completed payment, the payment per failed one (the cleaner may
    # have run already when the history was read).
    written = len(DEFAULT_ACCOUNTS) + 3 * len(history.completed) + len(history.failed)
    last: list[str] = []

    def compacted() -> list | None:
        audit = _read(broker.bootstrap, PAYMENT_AUDIT)
        checkpoints = _cleaner_checkpoints(broker, PAYMENT_AUDIT)
        problems = compaction_problems(audit, checkpoints)
        last[:] = [f"{len(audit)} of {written} records left, cleaner checkpoints {checkpoints}", *problems[:5]]
        return None if problems or len(audit) >= written else audit

    audit = wait_until(
        compacted, 30, interval=0.3, message=lambda: "the cleaner to compact payment-audit: " + "; ".join(last)
    )
    history.audit = audit
    problems = check(history)
    assert not problems, f"seed {SEED}, after compaction:\n" + "\n".join(problems[:40])


def test_payments_exactly_once_on_apache_kafka(apache_kafka, tmp_path: Path) -> None:
    """The same design and checker on the real Kafka (the session's node, so no broker kill there):
    what the test demands of Kavka is what Kafka gives."""
    ensure_topics(apache_kafka.bootstrap, TopicPlan())
    _run_with_faults(apache_kafka.bootstrap, tmp_path, 60, ["processor", "api", "zombie"])


def _run_with_faults(
    bootstrap: str, tmp_path: Path, count: int, faults: list[str], *, broker: BrokerProcess | None = None
) -> History:
    """Run the API and the processor, send ``count`` seeded payments while doing each of ``faults``
    ("processor", "api": SIGKILL and start again; "broker": ``broker`` killed -9 and restarted;
    "zombie": a frozen processor replaced, then resumed and fenced) at a
    seeded random point, wait for every outcome, and return the checked history."""
    api, processor, url = _services(bootstrap, tmp_path)
    try:
        api.start(wait=False)
        processor.start(wait=False)
        api.wait_ready(60)
        processor.wait_ready(60)
        sent = _send_with_faults(api, processor, broker, url, count, faults)
        # the first key again, after every restart: the first answer, read back from Kafka, and nothing
        # new published (the checker counts payment-initiated records per key)
        first_request, first_answer = sent[0]
        again = send_until_answered(url, first_request, timeout=30)
        assert (again.status, again.body, again.replayed) == (202, first_answer.body, True)
        sent.append((first_request, again))
        accepted = {a.body["paymentId"] for _, a in sent if a.status == 202}

        def decided() -> bool:
            outcomes = _read(bootstrap, PAYMENT_COMPLETED) + _read(bootstrap, PAYMENT_FAILED)
            return len(outcomes) >= len(accepted)

        wait_until(decided, 60, interval=0.3, message=f"outcomes of {len(accepted)} payments")
        for service in (api, processor):
            assert service.returncode is None, f"{service.name} exited on its own:\n{service.log_tail()}"

        plan = TopicPlan()
        history = History(
            accounts=DEFAULT_ACCOUNTS,
            sent=sent,
            initiated=_read(bootstrap, PAYMENT_INITIATED),
            completed=_read(bootstrap, PAYMENT_COMPLETED),
            failed=_read(bootstrap, PAYMENT_FAILED),
            balance_events=_read(bootstrap, BALANCE_EVENTS),
            audit=_read(bootstrap, PAYMENT_AUDIT),
            partitioner=plan.partitioner(),
            hot=plan.hot_accounts,
        )
        problems = check(history)
        assert not problems, f"seed {SEED}:\n" + "\n".join(problems[:40])
        assert len(history.initiated) == len(accepted)
        assert any(request.kind == "resend" for request, answer in sent if answer.replayed)
        assert history.completed and history.failed
        _check_reads(url.removesuffix("/payments"), history)
    finally:
        for service in (api, processor):
            service.kill()
    return history


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _check_reads(base: str, history: History) -> None:
    """The API's GET /payments/{id} and GET /accounts/{id} agree with the committed history (the API's
    audit view follows the log, so it may need a moment to catch up)."""
    outcomes = {v["paymentId"]: v["status"] for _, _, _, v in history.completed + history.failed}
    balances = history.extra["balances"]

    def agree() -> bool:
        for pid, status in outcomes.items():
            code, body = _get(f"{base}/payments/{pid}")
            if code != 200 or body.get("status") != status:
                return False
        return all(_get(f"{base}/accounts/{a}")[1].get("balance") == b for a, b in balances.items())

    wait_until(agree, 30, interval=0.2, message="GET /payments and /accounts to agree with the history")
    assert _get(f"{base}/payments/no-such-payment")[0] == 404
    assert _get(f"{base}/accounts/ACC-999")[0] == 404


def _zombie(processor: Service, url: str, sent: list[tuple[PaymentRequest, Answer]]) -> None:
    """Freeze the processor (SIGSTOP), start a new one with the same transactional.id, then let the old
    one go on (SIGCONT): it must be fenced (the guide's ProducerFencedException) and stop, having
    written nothing that counts. One more payment makes sure the old one has something to try: it
    comes from an account of its own (so it cannot race the client's payments in the order check)
    and fails as UNKNOWN_ACCOUNT."""
    # a processor still starting would fence the new one when resumed (the last init_transactions
    # wins), so the one frozen is one that has started
    processor.wait_ready(60)
    old = processor.popen
    assert old is not None
    old.send_signal(signal.SIGSTOP)
    try:
        processor.start()  # init_transactions fences the frozen one and aborts its open transaction
    finally:
        old.send_signal(signal.SIGCONT)
    nudge = PaymentRequest(f"zombie-{len(sent)}", "ACC-ZOMBIE", "ACC-001", 1, "unknown-account")
    sent.append((nudge, send_until_answered(url, nudge, timeout=60)))
    code = wait_until(lambda: old.poll(), 60, message=lambda: f"the fenced processor to stop\n{processor.log_tail(40)}")
    exits = [line for line in processor.log_path.read_text().splitlines() if line.startswith("payment processor: ")]
    assert code == 1 and any("fenced by a newer instance" in line for line in exits), processor.log_tail()


def _send_with_faults(
    api: Service, processor: Service, broker: BrokerProcess | None, url: str, count: int, faults: list[str]
) -> list[tuple[PaymentRequest, Answer]]:
    rng = random.Random(SEED)
    workload = make_workload(SEED, count, DEFAULT_ACCOUNTS, fraud_limit=DEFAULT_FRAUD_LIMIT)
    assert {r.kind for r in workload} == {"transfer", "overdraw", "fraud", "resend"}
    faults = list(faults)
    rng.shuffle(faults)
    points = sorted(rng.sample(range(5, count - 5), len(faults)))
    sent: list[tuple[PaymentRequest, Answer]] = []
    errors: list[BaseException] = []

    def client() -> None:
        try:
            for request in workload:
                sent.append((request, send_until_answered(url, request, timeout=90)))
        except BaseException as e:  # reported by the test thread
            errors.append(e)

    thread = threading.Thread(target=client, name="payments-client", daemon=True)
    thread.start()
    for point, fault in zip(points, faults):
        wait_until(lambda: len(sent) >= point or errors or not thread.is_alive(), 90, message=f"{point} answers")
        if fault == "processor":
            processor.kill()
            processor.start(wait=False)
        elif fault == "zombie":
            _zombie(processor, url, sent)
        elif fault == "api":
            api.kill()
            api.start(wait=False)
        else:
            assert broker is not None
            broker.kill()
            broker.start()
    thread.join(120)
    assert not thread.is_alive(), "the client did not finish"
    if errors:
        raise errors[0]
    return sent


# -- the checker fails when it should ----------------------------------------------------------------


def _clean_history() -> History:
    """A two-payment history that is right: ACC-001 pays 30 to ACC-002, then tries 500 (no funds)."""
    part = AccountPartitioner(3, ("ACC-002",))
    accounts = {"ACC-001": 100, "ACC-002": 0}
    r1 = PaymentRequest("k1", "ACC-001", "ACC-002", 30, "transfer")
    r2 = PaymentRequest("k2", "ACC-001", "ACC-002", 500, "overdraw")
    p1 = {"paymentId": "p1", "idempotencyKey": "k1", "from": "ACC-001", "to": "ACC-002", "amount": 30}
    p2 = {"paymentId": "p2", "idempotencyKey": "k2", "from": "ACC-001", "to": "ACC-002", "amount": 500}
    a = part("ACC-001")
    b = part("ACC-002")
    k = b"ACC-001"
    return History(
        accounts=accounts,
        sent=[
            (r1, Answer(202, {"paymentId": "p1"}, False)),
            (r1, Answer(202, {"paymentId": "p1"}, True)),
            (r2, Answer(202, {"paymentId": "p2"}, False)),
        ],
        initiated=[(a, 0, k, p1), (a, 1, k, p2)],
        completed=[(a, 0, k, {**p1, "status": "COMPLETED"})],
        failed=[
            (a, 0, k, {**p2, "status": "FAILED", "reason": "INSUFFICIENT_FUNDS: ACC-001 has 70, the payment needs 500"})
        ],
        balance_events=[
            (
                a,
                0,
                k,
                {
                    "type": "OPEN",
                    "accountId": "ACC-001",
                    "paymentId": None,
                    "amount": 100,
                    "balanceAfter": 100,
                    "version": 1,
                },
            ),
            (
                b,
                0,
                b"ACC-002",
                {
                    "type": "OPEN",
                    "accountId": "ACC-002",
                    "paymentId": None,
                    "amount": 0,
                    "balanceAfter": 0,
                    "version": 1,
                },
            ),
            (
                a,
                1,
                k,
                {
                    "type": "DEBIT",
                    "accountId": "ACC-001",
                    "paymentId": "p1",
                    "amount": 30,
                    "balanceAfter": 70,
                    "version": 2,
                },
            ),
            (
                b,
                1,
                b"ACC-002",
                {
                    "type": "CREDIT",
                    "accountId": "ACC-002",
                    "paymentId": "p1",
                    "amount": 30,
                    "balanceAfter": 30,
                    "version": 2,
                },
            ),
        ],
        audit=[
            (0, 0, b"account:ACC-001", {"balance": 100, "version": 1}),
            (0, 1, b"account:ACC-001", {"balance": 70, "version": 2}),
            (0, 2, b"account:ACC-002", {"balance": 30, "version": 2}),
            (0, 3, b"payment:p1", {"status": "COMPLETED"}),
            (0, 4, b"payment:p2", {"status": "FAILED"}),
        ],
        partitioner=part,
        hot=("ACC-002",),
    )


def _dup_initiated(h: History) -> None:
    h.initiated.append(h.initiated[0][:1] + (9,) + h.initiated[0][2:])


def _second_outcome(h: History) -> None:
    h.failed.append((0, 5, b"ACC-001", {**h.completed[0][3], "status": "FAILED", "reason": "x"}))


def _overdraft(h: History) -> None:
    ev = h.balance_events[2][3]
    ev.update(amount=130, balanceAfter=-30)
    h.balance_events[3][3].update(amount=130, balanceAfter=130)
    h.completed[0][3]["amount"] = 130


def _money_created(h: History) -> None:
    h.balance_events[3][3].update(amount=40, balanceAfter=40)


def _wrong_partition(h: History) -> None:
    p, o, k, v = h.initiated[0]
    h.initiated[0] = (h.partitioner("ACC-002"), o, k, v)


def _reordered(h: History) -> None:
    h.initiated[0], h.initiated[1] = (
        (h.initiated[0][0], 1, *h.initiated[0][2:]),
        (h.initiated[1][0], 0, *h.initiated[1][2:]),
    )


def _stale_audit(h: History) -> None:
    h.audit.pop(1)


def _overdraw_completed(h: History) -> None:
    h.failed[0][3].update(status="FAILED", reason="FRAUD_SUSPECTED: wrong rule")


def _wrongly_refused(h: History) -> None:
    h.failed[0][3]["reason"] = "INSUFFICIENT_FUNDS: ACC-001 has 90, the payment needs 500"


def _debited_out_of_order(h: History) -> None:
    # p2 completed too and was debited before p1, though p1 came first in payment-initiated
    p2 = h.failed.pop()[3]
    h.completed.append((0, 1, b"ACC-001", {**p2, "amount": 10, "status": "COMPLETED"}))
    h.initiated[1][3]["amount"] = 10
    a, b = h.partitioner("ACC-001"), h.partitioner("ACC-002")
    h.balance_events[2:] = [
        (
            a,
            1,
            b"ACC-001",
            {
                "type": "DEBIT",
                "accountId": "ACC-001",
                "paymentId": "p2",
                "amount": 10,
                "balanceAfter": 90,
                "version": 2,
            },
        ),
        (
            b,
            1,
            b"ACC-002",
            {
                "type": "CREDIT",
                "accountId": "ACC-002",
                "paymentId": "p2",
                "amount": 10,
                "balanceAfter": 10,
                "version": 2,
            },
        ),
        (
            a,
            2,
            b"ACC-001",
            {
                "type": "DEBIT",
                "accountId": "ACC-001",
                "paymentId": "p1",
                "amount": 30,
                "balanceAfter": 60,
                "version": 3,
            },
        ),
        (
            b,
            2,
            b"ACC-002",
            {
                "type": "CREDIT",
                "accountId": "ACC-002",
                "paymentId": "p1",
                "amount": 30,
                "balanceAfter": 40,
                "version": 3,
            },
        ),
    ]


def _lost_outcome(h: History) -> None:
    h.failed.clear()


@pytest.mark.parametrize(
    ("break_it", "expect"),
    [
        (_dup_initiated, "payment-initiated records"),
        (_second_outcome, "2 outcomes"),
        (_overdraft, "negative balance"),
        (_money_created, "money not conserved"),
        (_wrong_partition, "in partition"),
        (_reordered, "in the order"),
        (_stale_audit, "audit account:ACC-001"),
        (_overdraw_completed, "expected INSUFFICIENT_FUNDS"),
        (_lost_outcome, "neither completed nor failed"),
        (_wrongly_refused, "refused at balance 90"),
        (_debited_out_of_order, "debited in the order"),
    ],
)
def test_checker_finds_each_violation(break_it: Callable[[History], None], expect: str) -> None:
    assert check(_clean_history()) == []
    history = _clean_history()
    break_it(history)
    problems = check(history)
    assert any(expect in p for p in problems), problems


def test_compaction_checker_finds_repeated_keys() -> None:
    audit = [(0, 0, b"a", 1), (0, 1, b"a", 2), (0, 2, b"b", 1)]
    assert compaction_problems(audit, {0: 1}) == []
    assert "repeated" in compaction_problems(audit, {0: 2})[0]
    assert "never cleaned" in compaction_problems(audit, {})[0]


# -- the pieces ----------------------------------------------------------------------------------------


def test_hot_account_has_a_partition_of_its_own_and_every_account_one_partition() -> None:
    part = AccountPartitioner(6, ("ACC-007",))
    accounts = [f"ACC-{i:03d}" for i in range(1, 200)]
    placed = {a: part(a) for a in accounts}
    assert placed["ACC-007"] == 5
    assert [a for a, p in placed.items() if p == 5] == ["ACC-007"]
    assert set(placed.values()) == set(range(6))  # the shared pool is used whole
    assert all(part(a) == p for a, p in placed.items())  # one account, one partition, every time
    with pytest.raises(ValueError, match="no shared pool"):
        AccountPartitioner(1, ("ACC-007",))


def test_ledger_never_overdraws_and_forgets_a_rolled_back_batch() -> None:
    ledger = Ledger(fraud_limit=1000)
    ledger.begin()
    ledger.open("A", 100)
    ledger.open("B", 0)
    ledger.commit()
    ledger.begin()
    assert ledger.decide({"paymentId": "1", "from": "A", "to": "B", "amount": 60}).status == "COMPLETED"
    second = ledger.decide({"paymentId": "2", "from": "A", "to": "B", "amount": 60})
    assert (second.status, second.reason.split(":")[0]) == ("FAILED", "INSUFFICIENT_FUNDS")
    fraud = ledger.decide({"paymentId": "3", "from": "A", "to": "B", "amount": 5000})
    assert fraud.reason.startswith("FRAUD_SUSPECTED")
    ledger.rollback()
    assert (ledger.accounts["A"].balance, ledger.accounts["B"].balance) == (100, 0)
    assert ledger.decided == set()
    ledger.begin()
    assert ledger.decide({"paymentId": "1", "from": "A", "to": "B", "amount": 60}).status == "COMPLETED"
    assert ledger.decide({"paymentId": "1", "from": "A", "to": "B", "amount": 60}).status == "DUPLICATE"
    ledger.commit()
    assert (ledger.accounts["A"].balance, ledger.accounts["B"].balance) == (40, 60)


# -- kavka demo payments ---------------------------------------------------------------------------


def _demo(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "kavka", "demo", "payments", *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def test_demo_command_runs_against_a_running_broker(
    broker_factory: Callable[..., BrokerProcess], tmp_path: Path
) -> None:
    broker = broker_factory()
    # a record no API wrote, waiting in payment-initiated: refused, and the processor goes on
    ensure_topics(broker.bootstrap, TopicPlan())
    producer = confluent_kafka.Producer({"bootstrap.servers": broker.bootstrap})
    producer.produce(PAYMENT_INITIATED, b"not a payment", b"ACC-001", partition=0)
    assert producer.flush(10) == 0
    del producer
    log = tmp_path / "demo.log"
    demo = _demo(["--bootstrap-servers", broker.bootstrap, "--payments", "40", "--seed", "5", "--once"], log)
    try:
        code = demo.wait(90)
    finally:
        demo.kill()
    output = log.read_text()
    assert code == 0, output
    assert "sent 40/40" in output and "money in the bank 12,000.00" in output, output
    assert "ACC-007" in output and "partition 5" in output
    # what the summary counted is in the topics
    completed = _read(broker.bootstrap, PAYMENT_COMPLETED)
    refused = [v for _, _, _, v in _read(broker.bootstrap, PAYMENT_FAILED) if v["paymentId"] is None]
    failed = [v for _, _, _, v in _read(broker.bootstrap, PAYMENT_FAILED) if v["paymentId"] is not None]
    assert [v["reason"] for v in refused] == ["MALFORMED: not a JSON object"]
    summary = next(line for line in output.splitlines() if line.startswith("sent 40/40"))
    assert f"completed {len(completed)} " in summary and f"failed {len(failed)} " in summary, summary


def test_demo_command_starts_a_broker_and_stops_everything_on_ctrl_c(tmp_path: Path) -> None:
    log = tmp_path / "demo.log"
    demo = _demo(["--payments", "10", "--seed", "1"], log)
    try:
        wait_until(
            lambda: "press Ctrl-C" in log.read_text() or demo.poll() is not None, 90, message="the demo to serve"
        )
        output = log.read_text()
        assert demo.poll() is None, output
        broker_port = int(output.split("kavka serve on 127.0.0.1:")[1].split(",")[0])
        api_port = int(output.split("Payment API on http://127.0.0.1:")[1].split("/")[0])
        demo.send_signal(signal.SIGINT)
        code = demo.wait(60)
    finally:
        demo.kill()
    output = log.read_text()
    assert code == 0, output
    assert output.rstrip().endswith("stopped"), output
    for port in (broker_port, api_port):  # the broker and the API it started are gone
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
