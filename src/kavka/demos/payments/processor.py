"""The payment processor: fraud check, balance check and the transfer, exactly once.

It reads ``payment-initiated`` with ``isolation.level=read_committed`` and decides each payment in
order (`kavka.demos.payments.ledger.Ledger`). For a batch of payments it writes, in ONE transaction
(``transactional.id`` = ``payment-service-1`` as in the guide):

- per completed payment: the DEBIT and CREDIT ``balance-events``, both accounts' new state in
  ``account-balances`` and in ``payment-audit`` (``account:<id>``), and ``payment-completed``;
- per failed payment (fraud rule, insufficient funds, unknown account): ``payment-failed``;
- per payment either way: ``payment-audit`` ``payment:<id>`` with its final state;
- the consumer's offsets after the batch (``send_offsets_to_transaction``).

So a crash anywhere leaves either all of a batch or none of it. On start the processor calls
``init_transactions`` (which fences a previous instance and aborts its open transaction), rebuilds the
balances from the compacted ``account-balances`` and the decided payment ids from ``payment-audit`` (it
is their only writer, so after ``init_transactions`` both are complete up to their end), and resumes
from the committed offsets.

One processor owns every partition (``assign``, not a group subscription): a transfer debits one
account and credits another, possibly on another partition, and both must change in the same
transaction, so all balances live with one owner. The transactional.id is what fences a stale copy.

Run: ``python -m kavka.demos.payments.processor --bootstrap-servers HOST:PORT``; it prints
``payment processor ready`` once it consumes, and stops cleanly on SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Mapping
from typing import Any

import click
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from kavka.demos.payments.fraud import DEFAULT_FRAUD_LIMIT
from kavka.demos.payments.kafkaio import (
    TransactionUncertain,
    abort_transaction,
    decode,
    encode,
    exit_now,
    finish_transaction,
    position,
    read_topic,
)
from kavka.demos.payments.ledger import DEFAULT_ACCOUNTS, Account, Ledger, malformed
from kavka.demos.payments.topics import (
    ACCOUNT_BALANCES,
    BALANCE_EVENTS,
    PAYMENT_AUDIT,
    PAYMENT_COMPLETED,
    PAYMENT_FAILED,
    PAYMENT_INITIATED,
    TopicPlan,
)

__all__ = ["PaymentProcessor", "main"]

TRANSACTION_DEADLINE = 60.0  # seconds to get a commit or abort through (a broker restart fits in it)


class PaymentProcessor:
    def __init__(
        self,
        bootstrap: str,
        *,
        plan: TopicPlan | None = None,
        accounts: Mapping[str, int] | None = None,
        transactional_id: str = "payment-service-1",
        group_id: str = "payment-processor",
        fraud_limit: int = DEFAULT_FRAUD_LIMIT,
        batch_size: int = 100,
    ) -> None:
        self.bootstrap = bootstrap
        self.plan = plan or TopicPlan()
        self.partitioner = self.plan.partitioner()
        self.accounts = dict(DEFAULT_ACCOUNTS if accounts is None else accounts)
        self.transactional_id = transactional_id
        self.group_id = group_id
        self.batch_size = batch_size
        self.ledger = Ledger(fraud_limit)
        self.producer: Producer | None = None
        self.consumer: Consumer | None = None
        self.decided = 0

    # -- start: fence, rebuild, resume ---------------------------------------------------------------

    def start(self) -> None:
        self.producer = Producer(
            {
                "bootstrap.servers": self.bootstrap,
                "transactional.id": self.transactional_id,
                "enable.idempotence": True,
                "acks": "all",
                "transaction.timeout.ms": 20000,
                "linger.ms": 5,
            }
        )
        self.producer.init_transactions(TRANSACTION_DEADLINE)
        for _, _, key, value in read_topic(self.bootstrap, ACCOUNT_BALANCES):
            if key is not None and value is not None:
                self.ledger.accounts[key.decode()] = Account(value["balance"], value["version"])
        for _, _, key, value in read_topic(self.bootstrap, PAYMENT_AUDIT):
            if key is not None and key.startswith(b"payment:") and value is not None:
                self.ledger.decided.add(value["paymentId"])
        self._open_accounts()
        self.consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": self.group_id,
                "isolation.level": "read_committed",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
            }
        )
        partitions = [TopicPartition(PAYMENT_INITIATED, p) for p in range(self.plan.partitions)]
        committed = _committed(self.consumer, partitions, time.monotonic() + TRANSACTION_DEADLINE)
        for tp in committed:
            if tp.offset < 0:
                tp.offset = OFFSET_BEGINNING
        self.consumer.assign(committed)

    def _open_accounts(self) -> None:
        """Open the configured accounts that have no balance yet, in one transaction of their own."""
        assert self.producer is not None
        self.ledger.begin()
        opened = [e for account, balance in self.accounts.items() if (e := self.ledger.open(account, balance))]
        if not opened:
            self.ledger.commit()
            return
        self.producer.begin_transaction()
        try:
            for event in opened:
                account = event["accountId"]
                self._produce(BALANCE_EVENTS, account, event, by_account=True)
                self._write_account(account, self.ledger.accounts[account], None)
            committed = finish_transaction(self.producer, time.monotonic() + TRANSACTION_DEADLINE)
        except BaseException:
            self.ledger.rollback()
            raise
        if not committed:
            self.ledger.rollback()
            raise RuntimeError("opening the accounts was aborted; start the processor again")
        self.ledger.commit()

    # -- the loop ------------------------------------------------------------------------------------

    def step(self, timeout: float = 0.5) -> int:
        """Consume up to one batch and settle it in one transaction; return how many payments it held."""
        assert self.consumer is not None and self.producer is not None
        messages = [m for m in self.consumer.consume(self.batch_size, timeout) if _usable(m)]
        if not messages:
            return 0
        first: dict[int, int] = {}
        after: dict[int, int] = {}
        for m in messages:
            partition, offset = position(m)
            first.setdefault(partition, offset)
            after[partition] = offset + 1
        deadline = time.monotonic() + TRANSACTION_DEADLINE
        self.producer.begin_transaction()
        self.ledger.begin()
        committed = False
        try:
            for m in messages:
                self._settle(m)
            self.producer.send_offsets_to_transaction(
                [TopicPartition(PAYMENT_INITIATED, p, o) for p, o in after.items()],
                self.consumer.consumer_group_metadata(),
                TRANSACTION_DEADLINE,
            )
            committed = finish_transaction(self.producer, deadline)
        except KafkaException as e:
            err: KafkaError = e.args[0]
            if err.code() == KafkaError._FATAL:
                # produce() only says "fatal error"; the transactional API names it (e.g. _FENCED)
                raise _fatal_cause(self.producer) from e
            if err.fatal() or not (err.txn_requires_abort() or err.retriable()):
                raise
            # e.g. the broker went away while offsets were sent: nothing of the batch may stay
            abort_transaction(self.producer, deadline)
        finally:
            if committed:
                self.ledger.commit()
            else:
                self.ledger.rollback()
        if not committed:
            # read the batch again: the aborted transaction wrote nothing, the ledger forgot it
            for p, o in first.items():
                self.consumer.seek(TopicPartition(PAYMENT_INITIATED, p, o))
            return 0
        self.decided += len(messages)
        return len(messages)

    def _settle(self, message: Message) -> None:
        try:
            payment = decode(message.value())
        except ValueError:
            payment = None
        problem = malformed(payment)
        if problem is not None:
            # a record no API wrote: refused where everyone can see it, never left to stop the processor
            partition, offset = position(message)
            where = {"topic": message.topic(), "partition": partition, "offset": offset}
            value = {"paymentId": None, "status": "FAILED", "reason": f"MALFORMED: {problem}", "record": where}
            assert self.producer is not None
            self.producer.produce(PAYMENT_FAILED, encode(value), message.key(), partition=partition)
            return
        decision = self.ledger.decide(payment)
        if decision.status == "DUPLICATE":
            return
        for event in decision.events:
            self._produce(BALANCE_EVENTS, event["accountId"], event, by_account=True)
        for account, state in decision.balances.items():
            self._write_account(account, state, payment["paymentId"])
        outcome = {
            **payment,
            "status": decision.status,
            "reason": decision.reason,
            "balancesAfter": {a: s.balance for a, s in decision.balances.items()},
        }
        topic = PAYMENT_COMPLETED if decision.status == "COMPLETED" else PAYMENT_FAILED
        self._produce(topic, payment["from"], outcome, by_account=True)
        self._produce(PAYMENT_AUDIT, f"payment:{payment['paymentId']}", outcome)

    def _write_account(self, account: str, state: Account, payment_id: str | None) -> None:
        value = {"accountId": account, "balance": state.balance, "version": state.version, "lastPaymentId": payment_id}
        self._produce(ACCOUNT_BALANCES, account, value, by_account=True)
        self._produce(PAYMENT_AUDIT, f"account:{account}", value)

    def _produce(self, topic: str, key: str, value: Any, *, by_account: bool = False) -> None:
        assert self.producer is not None
        if by_account:
            self.producer.produce(topic, encode(value), key.encode(), partition=self.partitioner(key))
        else:
            self.producer.produce(topic, encode(value), key.encode())
        self.producer.poll(0)

    def close(self) -> None:
        """Leave: nothing to flush, every record was sent by its transaction's commit (or is aborted)."""
        if self.consumer is not None:
            self.consumer.close()


# errors of an OffsetFetch that go away by asking again (librdkafka does not always flag them retriable)
_RETRIABLE_FETCH = {
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.UNSTABLE_OFFSET_COMMIT,
    KafkaError.REQUEST_TIMED_OUT,
    KafkaError._TIMED_OUT,
    KafkaError._TRANSPORT,
}


def _committed(consumer: Consumer, partitions: list[TopicPartition], deadline: float) -> list[TopicPartition]:
    """The group's committed offsets, retrying retriable errors until ``deadline``: a coordinator that
    is still loading answers NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS (Kafka does, right after
    it starts)."""
    while True:
        try:
            committed: list[TopicPartition] = consumer.committed(
                partitions, timeout=max(1.0, deadline - time.monotonic())
            )
            for tp in committed:
                if tp.error is not None:
                    raise KafkaException(tp.error)
            return committed
        except KafkaException as e:
            err: KafkaError = e.args[0]
            if not (err.retriable() or err.code() in _RETRIABLE_FETCH) or time.monotonic() >= deadline:
                raise
            time.sleep(0.1)  # back off before asking the coordinator again


def _usable(message: Message) -> bool:
    err = message.error()
    if err is None:
        return True
    if err.fatal():
        raise KafkaException(err)
    return False  # a transient consumer error (broker restarting): librdkafka retries by itself


def parse_accounts(text: str) -> dict[str, int]:
    """``"ACC-001=100000,ACC-002=5000"`` -> ``{"ACC-001": 100000, "ACC-002": 5000}``."""
    accounts: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, amount = item.partition("=")
        if not sep or not amount.strip().isdigit():
            raise click.BadParameter(f"{item!r} is not ACCOUNT=BALANCE (a whole number of cents)")
        accounts[name.strip()] = int(amount)
    return accounts


def format_accounts(accounts: Mapping[str, int]) -> str:
    return ",".join(f"{a}={b}" for a, b in accounts.items())


@click.command()
@click.option("--bootstrap-servers", "--bootstrap-server", "bootstrap", default="localhost:9092", show_default=True)
@click.option("--transactional-id", default="payment-service-1", show_default=True)
@click.option("--group-id", default="payment-processor", show_default=True)
@click.option("--partitions", default=TopicPlan().partitions, show_default=True, help="of the per-account topics")
@click.option("--hot-accounts", default=",".join(TopicPlan().hot_accounts), show_default=True)
@click.option("--accounts", default=format_accounts(DEFAULT_ACCOUNTS), help="ACCOUNT=CENTS,... opened on first start")
@click.option("--fraud-limit", default=DEFAULT_FRAUD_LIMIT, show_default=True, help="largest single payment, cents")
@click.option("--batch-size", default=100, show_default=True, help="payments per transaction at most")
def main(
    bootstrap: str,
    transactional_id: str,
    group_id: str,
    partitions: int,
    hot_accounts: str,
    accounts: str,
    fraud_limit: int,
    batch_size: int,
) -> None:
    """The payment processor of the guide's banking design (exactly-once, ordered per account)."""
    plan = TopicPlan(partitions, tuple(filter(None, hot_accounts.split(","))))
    processor = PaymentProcessor(
        bootstrap,
        plan=plan,
        accounts=parse_accounts(accounts),
        transactional_id=transactional_id,
        group_id=group_id,
        fraud_limit=fraud_limit,
        batch_size=batch_size,
    )
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        processor.start()
        print(f"payment processor ready: transactional.id={transactional_id}", flush=True)
        while not stopping:
            processor.step()
    except KafkaException as e:
        err: KafkaError = e.args[0]
        if err.code() in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH):
            # the guide's ProducerFencedException: another processor took over; this one's open
            # transaction was aborted by it, so stopping is all there is to do
            exit_now(
                f"payment processor: fenced by a newer instance with transactional.id {transactional_id}; stopping"
            )
        exit_now(f"payment processor: {err.str()}")
    except (TransactionUncertain, TimeoutError) as e:
        exit_now(f"payment processor: {e}")
    processor.close()
    print(f"payment processor stopped after {processor.decided} payments", flush=True)


def _fatal_cause(producer: Producer) -> KafkaException:
    """The error that made ``producer`` unusable, as the transactional API reports it."""
    try:
        producer.abort_transaction(1)
    except KafkaException as e:
        return e
    return KafkaException(KafkaError(KafkaError._FATAL, "the producer failed with a fatal error"))


if __name__ == "__main__":
    main()
