"""A live view of the audit log, for the Payment API's ``GET /payments/{id}`` and ``GET /accounts/{id}``.

`AuditView` follows the compacted ``payment-audit`` topic (read_committed, from the beginning) in a
thread of its own and keeps the latest value of each key: ``payment:<id>`` -> the payment's outcome,
``account:<id>`` -> the account's balance and version. Reads from other threads see whole values (a
dict assignment is atomic under the GIL).
"""

from __future__ import annotations

import threading
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from kavka.demos.payments.kafkaio import decode
from kavka.demos.payments.topics import PAYMENT_AUDIT

__all__ = ["AuditView"]


class AuditView:
    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.payments: dict[str, dict[str, Any]] = {}
        self.accounts: dict[str, dict[str, Any]] = {}
        self.error: str | None = None  # a fatal consumer error: the view stopped following
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="audit-view", daemon=True)

    def start(self) -> AuditView:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _follow(self) -> None:
        consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": "payment-api-audit-view",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
            }
        )
        try:
            topic = consumer.list_topics(PAYMENT_AUDIT, timeout=30).topics[PAYMENT_AUDIT]
            consumer.assign([TopicPartition(PAYMENT_AUDIT, p, OFFSET_BEGINNING) for p in topic.partitions])
            while not self._stop.is_set():
                msg = consumer.poll(0.2)
                if msg is None:
                    continue
                err = msg.error()
                if err is not None:
                    if err.fatal():
                        self.error = err.str()
                        return
                    continue  # transient: librdkafka retries
                key = (msg.key() or b"").decode()
                kind, _, name = key.partition(":")
                value = decode(msg.value())
                if kind == "payment" and value is not None:
                    self.payments[name] = value
                elif kind == "account" and value is not None:
                    self.accounts[name] = value
        except Exception as e:  # reported by the API's answers and /health, not lost
            self.error = f"{type(e).__name__}: {e}"
            raise
        finally:
            consumer.close()
