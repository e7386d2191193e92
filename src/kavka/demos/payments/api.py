"""The Payment API: ``POST /payments`` with an ``Idempotency-Key`` header.

Request body: ``{"from": "ACC-001", "to": "ACC-002", "amount": 2500}`` (``amount`` in cents, a positive
integer; the accounts different). Answers:

- 202 ``{"paymentId", "status": "ACCEPTED", "from", "to", "amount", "idempotencyKey"}``: the payment is in
  ``payment-initiated`` (key = the debited account, placed by the hot-account partitioner, acks=all);
  the processor decides it (``payment-completed`` or ``payment-failed``).
- the same status and body again, with ``Idempotent-Replayed: true``, for a key seen before: nothing new
  is published, so a client that retries after a timeout never pays twice;
- 422 when a known key comes with a different payment, 400 for a malformed request, 503 when the
  payment could not be published (retry with the same key).

``GET /payments/{paymentId}`` answers the payment's outcome (``status`` COMPLETED or FAILED with its
``reason``) once the processor has decided it, its 202 answer before; ``GET /accounts/{accountId}``
the account's latest ``balance`` (cents) and ``version``. Both read the audit log
(`kavka.demos.payments.audit.AuditView`), so they are as fresh as its last committed transaction.

The seen keys live in Kafka, in the compacted topic ``payment-idempotency-keys`` (key -> the first
answer), written in the same transaction as the ``payment-initiated`` record: either both exist or
neither. On start the API fences its previous instance (``init_transactions``, ``transactional.id``
``payment-api-1``) and reads that topic to its end, so the keys survive a restart. One API instance
owns the keys (requests are published one at a time under a lock, so two requests with one key never
both publish).

Run: ``python -m kavka.demos.payments.api --bootstrap-servers HOST:PORT --port 8000``; it prints
``payment API ready on http://...`` and stops cleanly on SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
import uuid
from typing import Any

import click
from aiohttp import web
from confluent_kafka import KafkaException, Producer

from kavka.demos.payments.audit import AuditView
from kavka.demos.payments.kafkaio import TransactionUncertain, encode, exit_now, finish_transaction, read_topic
from kavka.demos.payments.topics import IDEMPOTENCY_KEYS, PAYMENT_INITIATED, TopicPlan

__all__ = ["PaymentApi", "main"]

TRANSACTION_DEADLINE = 60.0


class PaymentApi:
    def __init__(
        self, bootstrap: str, *, plan: TopicPlan | None = None, transactional_id: str = "payment-api-1"
    ) -> None:
        self.bootstrap = bootstrap
        self.partitioner = (plan or TopicPlan()).partitioner()
        self.transactional_id = transactional_id
        self.answers: dict[str, dict[str, Any]] = {}
        self.accepted: dict[str, dict[str, Any]] = {}  # paymentId -> the 202 answer's body
        self.audit = AuditView(bootstrap)
        self.published = 0
        self.replayed = 0
        self._lock = asyncio.Lock()
        self._producer: Producer | None = None
        self.failed: asyncio.Future[None] | None = None

    def start(self) -> None:
        """Fence the previous instance and load the seen keys (blocking)."""
        self._producer = Producer(
            {
                "bootstrap.servers": self.bootstrap,
                "transactional.id": self.transactional_id,
                "enable.idempotence": True,
                "acks": "all",
                "transaction.timeout.ms": 20000,
                "linger.ms": 0,
            }
        )
        self._producer.init_transactions(TRANSACTION_DEADLINE)
        for _, _, key, value in read_topic(self.bootstrap, IDEMPOTENCY_KEYS):
            if key is not None and value is not None:
                self.answers[key.decode()] = value
                self.accepted[value["body"]["paymentId"]] = value["body"]
        self.audit.start()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/payments", self.post_payment)
        app.router.add_get("/payments/{payment_id}", self.get_payment)
        app.router.add_get("/accounts/{account_id}", self.get_account)
        app.router.add_get("/health", self.health)
        return app

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"published": self.published, "replayed": self.replayed, "keys": len(self.answers)})

    async def get_payment(self, request: web.Request) -> web.Response:
        """The payment's outcome from the audit log, or its 202 answer while the processor has not decided it."""
        payment_id = request.match_info["payment_id"]
        outcome = self.audit.payments.get(payment_id)
        if outcome is not None:
            return web.json_response(outcome)
        accepted = self.accepted.get(payment_id)
        if accepted is not None:
            return web.json_response(accepted)
        return _error(404, f"no payment {payment_id}" + _stale(self.audit))

    async def get_account(self, request: web.Request) -> web.Response:
        """The account's latest balance (cents) and version from the audit log."""
        account_id = request.match_info["account_id"]
        state = self.audit.accounts.get(account_id)
        if state is None:
            return _error(404, f"no account {account_id}" + _stale(self.audit))
        return web.json_response(state)

    async def post_payment(self, request: web.Request) -> web.Response:
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            return _error(400, "the Idempotency-Key header is required")
        try:
            body = await request.json()
        except ValueError:
            return _error(400, 'the body must be JSON: {"from": ..., "to": ..., "amount": ...}')
        problem = _invalid(body)
        if problem:
            return _error(400, problem)
        request_id = {"from": body["from"], "to": body["to"], "amount": body["amount"]}
        async with self._lock:
            answer = self.answers.get(key)
            if answer is None:
                loop = asyncio.get_running_loop()
                try:
                    answer = await loop.run_in_executor(None, self._publish, key, request_id)
                except (KafkaException, TransactionUncertain) as e:
                    # the producer cannot go on (fenced, or the outcome is unknown): the process must
                    # restart, which settles the transaction; this request may be retried with its key
                    if self.failed is not None and not self.failed.done():
                        self.failed.set_exception(e)
                    return _error(503, f"payment not accepted, retry with the same Idempotency-Key: {e}")
                if answer is None:
                    return _error(
                        503, "payment not accepted (transaction aborted), retry with the same Idempotency-Key"
                    )
                self.published += 1
                return web.json_response(answer["body"], status=answer["status"])
        if answer["request"] != request_id:
            return _error(422, f"Idempotency-Key {key!r} was used for a different payment")
        self.replayed += 1
        return web.json_response(answer["body"], status=answer["status"], headers={"Idempotent-Replayed": "true"})

    def _publish(self, key: str, request: dict[str, Any]) -> dict[str, Any] | None:
        """Publish one payment and its key in one transaction; the answer, or None if it was aborted."""
        producer = self._producer
        assert producer is not None
        payment_id = uuid.uuid4().hex
        payment = {**request, "paymentId": payment_id, "idempotencyKey": key, "initiatedAt": int(time.time() * 1000)}
        body = {**request, "paymentId": payment_id, "status": "ACCEPTED", "idempotencyKey": key}
        answer = {"status": 202, "body": body, "request": request}
        producer.begin_transaction()
        producer.produce(
            PAYMENT_INITIATED, encode(payment), request["from"].encode(), partition=self.partitioner(request["from"])
        )
        producer.produce(IDEMPOTENCY_KEYS, encode(answer), key.encode())
        if not finish_transaction(producer, time.monotonic() + TRANSACTION_DEADLINE):
            return None
        self.answers[key] = answer
        self.accepted[payment_id] = body
        return answer


def _invalid(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    for field in ("from", "to"):
        if not isinstance(body.get(field), str) or not body[field]:
            return f"{field!r} must be an account id"
    amount = body.get("amount")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        return "'amount' must be a positive whole number of cents"
    if body["from"] == body["to"]:
        return "'from' and 'to' must be different accounts"
    return None


def _stale(audit: AuditView) -> str:
    return f" (the audit view stopped: {audit.error})" if audit.error else ""


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def serve(api: PaymentApi, host: str, port: int) -> None:
    """Serve until SIGTERM/SIGINT (return) or until the producer fails for good (raise)."""
    loop = asyncio.get_running_loop()
    api.failed = loop.create_future()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(api.app())
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    print(f"payment API ready on http://{host}:{port}/payments", flush=True)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        either: set[asyncio.Future[Any]] = {stopped, api.failed}
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        await runner.cleanup()
        api.audit.stop()
    if api.failed.done():
        api.failed.result()


@click.command()
@click.option("--bootstrap-servers", "--bootstrap-server", "bootstrap", default="localhost:9092", show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--transactional-id", default="payment-api-1", show_default=True)
@click.option("--partitions", default=TopicPlan().partitions, show_default=True, help="of payment-initiated")
@click.option("--hot-accounts", default=",".join(TopicPlan().hot_accounts), show_default=True)
def main(bootstrap: str, host: str, port: int, transactional_id: str, partitions: int, hot_accounts: str) -> None:
    """The Payment API of the guide's banking design (idempotency keys kept in Kafka)."""
    plan = TopicPlan(partitions, tuple(filter(None, hot_accounts.split(","))))
    api = PaymentApi(bootstrap, plan=plan, transactional_id=transactional_id)
    try:
        api.start()
        asyncio.run(serve(api, host, port))
    except KafkaException as e:
        exit_now(f"payment API: {e.args[0].str()}")
    except (TransactionUncertain, TimeoutError) as e:
        exit_now(f"payment API: {e}")
    except OSError as e:
        sys.exit(f"payment API: cannot serve on {host}:{port}: {e.strerror or e}")
    print(f"payment API stopped ({api.published} payments published, {api.replayed} replayed)", flush=True)


if __name__ == "__main__":
    main()
