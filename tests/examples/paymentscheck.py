"""The payment demo's checker: reads the committed history of every topic and lists what is wrong.

`History` holds the committed records of each topic (``(partition, offset, key, value)``, read with
read_committed) and what the client was answered; `check` returns one line per violation of:

- idempotency: one ``payment-initiated`` record per Idempotency-Key, with the paymentId every answer to
  that key named; no payment the client was not answered for;
- placement and order: each account's payments in the partition the hot-account partitioner gives, a
  hot account alone in its partition, and in the order the API accepted them;
- outcomes: every payment completed or failed exactly once; payments over all the money in the bank fail
  with INSUFFICIENT_FUNDS, payments over the fraud limit with FRAUD_SUSPECTED, payments from an
  account the bank does not have with UNKNOWN_ACCOUNT;
- the ledger: per account, OPEN then versions 1, 2, 3, ... with each balance the previous one plus or
  minus the amount, never negative, the debits in the order of the account's payments, each
  INSUFFICIENT_FUNDS refusal at a balance the account had and below the amount; each completed payment exactly one DEBIT and one CREDIT of its
  amount, a failed one none; the sum of the balances equal to the opening sum;
- the audit log: the latest ``account:<id>`` / ``payment:<id>`` record equal to the ledger's final
  balance and the payment's outcome.

`compaction_problems` checks the compacted audit log against its files: below each partition's
cleaner checkpoint, every key appears at most once.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kavka.demos.payments.workload import Answer, PaymentRequest

Record = tuple[int, int, bytes | None, Any]


@dataclass
class History:
    accounts: Mapping[str, int]  # opening balances
    sent: Sequence[tuple[PaymentRequest, Answer]]  # in the order the client got its answers
    initiated: list[Record]
    completed: list[Record]
    failed: list[Record]
    balance_events: list[Record]
    audit: list[Record]
    partitioner: Callable[[str], int]
    hot: Sequence[str] = ()
    extra: dict[str, Any] = field(default_factory=dict)


def check(h: History) -> list[str]:
    return [
        *_idempotency(h),
        *_placement_and_order(h),
        *_outcomes(h),
        *_ledger(h),
        *_audit(h),
    ]


def _idempotency(h: History) -> list[str]:
    problems = []
    answered: dict[str, str] = {}
    for request, answer in h.sent:
        if answer.status != 202:
            problems.append(f"key {request.key}: answered {answer.status} {answer.body}")
            continue
        pid = answer.body["paymentId"]
        if answered.setdefault(request.key, pid) != pid:
            problems.append(f"key {request.key}: answered with payments {answered[request.key]} and {pid}")
    per_key = Counter(value["idempotencyKey"] for _, _, _, value in h.initiated)
    for key, n in per_key.items():
        if n > 1:
            problems.append(f"key {key}: {n} payment-initiated records")
        if key not in answered:
            problems.append(f"key {key}: published but never answered")
    for key, pid in answered.items():
        if per_key.get(key, 0) == 0:
            problems.append(f"key {key}: answered {pid} but nothing was published")
    for _, _, _, value in h.initiated:
        key = value["idempotencyKey"]
        if key in answered and answered[key] != value["paymentId"]:
            problems.append(f"key {key}: published {value['paymentId']}, answered {answered[key]}")
    return problems


def _placement_and_order(h: History) -> list[str]:
    problems = []
    by_account: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for partition, offset, key, value in h.initiated:
        account = value["from"]
        if key != account.encode():
            problems.append(f"payment {value['paymentId']}: key {key!r}, not the debited account {account}")
        if partition != h.partitioner(account):
            problems.append(
                f"payment {value['paymentId']} of {account} in partition {partition}, not {h.partitioner(account)}"
            )
        by_account[account].append((partition, offset, value["paymentId"]))
    for hot in h.hot:
        others = {v["from"] for p, _, _, v in h.initiated if p == h.partitioner(hot) and v["from"] != hot}
        if others:
            problems.append(f"hot account {hot} shares its partition with {sorted(others)}")
    accepted: dict[str, list[str]] = defaultdict(list)
    seen: set[str] = set()
    for request, answer in h.sent:
        pid = answer.body.get("paymentId")
        if answer.status == 202 and pid not in seen:  # a retry may be the first answer, replayed
            seen.add(pid)
            accepted[request.source].append(pid)
    for account, records in by_account.items():
        logged = [pid for _, _, pid in sorted(records)]
        if logged != accepted[account]:
            problems.append(f"{account}: payments logged in the order {logged}, accepted in {accepted[account]}")
    return problems


def _outcomes(h: History) -> list[str]:
    problems = []
    payments = {v["paymentId"]: v for _, _, _, v in h.initiated}
    outcomes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for _, _, _, value in h.completed + h.failed:
        outcomes[value["paymentId"]].append(value)
    for pid, values in outcomes.items():
        if pid not in payments:
            problems.append(f"payment {pid}: an outcome for a payment never initiated")
        if len(values) != 1:
            problems.append(f"payment {pid}: {len(values)} outcomes {[v['status'] for v in values]}")
    for pid in payments:
        if pid not in outcomes:
            problems.append(f"payment {pid}: neither completed nor failed")
    expected = {"overdraw": "INSUFFICIENT_FUNDS", "fraud": "FRAUD_SUSPECTED", "unknown-account": "UNKNOWN_ACCOUNT"}
    for request, answer in h.sent:
        want = expected.get(request.kind)
        pid = answer.body.get("paymentId")
        if want is None or pid not in outcomes:
            continue
        got = outcomes[pid][0]
        if got["status"] != "FAILED" or not (got.get("reason") or "").startswith(want):
            problems.append(f"payment {pid} ({request.kind}): {got['status']} {got.get('reason')}, expected {want}")
    return problems


def _ledger(h: History) -> list[str]:
    problems = []
    balances: dict[str, int] = {}
    versions: dict[str, int] = {}
    moves: dict[str, list[dict[str, Any]]] = defaultdict(list)
    debits: dict[str, list[str]] = defaultdict(list)  # per account, the debited payments in ledger order
    history: dict[str, set[int]] = defaultdict(set)  # every balance each account had
    for _, _, _, ev in sorted(h.balance_events, key=lambda r: (r[0], r[1])):
        account = ev["accountId"]
        history[account].add(ev["balanceAfter"])
        if ev["type"] == "DEBIT":
            debits[account].append(ev["paymentId"])
        if ev["type"] == "OPEN":
            if account in balances:
                problems.append(f"{account}: opened twice")
            elif ev["amount"] != h.accounts.get(account):
                problems.append(f"{account}: opened with {ev['amount']}, not {h.accounts.get(account)}")
            balances[account] = ev["amount"]
            versions[account] = ev["version"]
            if ev["version"] != 1:
                problems.append(f"{account}: opened at version {ev['version']}")
            continue
        if account not in balances:
            problems.append(f"{account}: {ev['type']} before it was opened")
            continue
        delta = -ev["amount"] if ev["type"] == "DEBIT" else ev["amount"]
        balances[account] += delta
        if ev["version"] != versions[account] + 1:
            problems.append(f"{account}: version {ev['version']} after {versions[account]} ({ev['paymentId']})")
        versions[account] = ev["version"]
        if ev["balanceAfter"] != balances[account]:
            problems.append(
                f"{account}: balance {ev['balanceAfter']} after {ev['paymentId']}, the events sum to {balances[account]}"
            )
        if balances[account] < 0:
            problems.append(f"{account}: negative balance {balances[account]} after {ev['paymentId']}")
        moves[ev["paymentId"]].append(ev)
    if set(balances) != set(h.accounts):
        problems.append(f"accounts opened {sorted(balances)}, configured {sorted(h.accounts)}")
    if sum(balances.values()) != sum(h.accounts.values()):
        problems.append(
            f"money not conserved: balances sum to {sum(balances.values())}, opened with {sum(h.accounts.values())}"
        )
    for _, _, _, value in h.completed:
        pid = value["paymentId"]
        kinds = sorted((e["type"], e["accountId"], e["amount"]) for e in moves.pop(pid, []))
        want = sorted([("CREDIT", value["to"], value["amount"]), ("DEBIT", value["from"], value["amount"])])
        if kinds != want:
            problems.append(f"payment {pid}: balance events {kinds}, expected {want}")
    failed = {v["paymentId"] for _, _, _, v in h.failed}
    for pid, events in moves.items():
        what = "failed payment" if pid in failed else "payment not completed"
        problems.append(f"{what} {pid} moved money: {[(e['type'], e['accountId'], e['amount']) for e in events]}")
    # the processor took each account's payments in their order: its debits follow payment-initiated
    order = {v["paymentId"]: (p, o) for p, o, _, v in h.initiated}
    for account, ids in debits.items():
        positions = [order.get(pid) for pid in ids]
        if None not in positions and positions != sorted(positions):
            problems.append(f"{account}: debited in the order {ids}, not the order of its payments")
    # a payment refused for want of funds was refused at a balance the account had, below the amount
    for _, _, _, value in h.failed:
        reason = value.get("reason") or ""
        if reason.startswith("INSUFFICIENT_FUNDS"):
            had = int(reason.split(" has ")[1].split(",")[0])
            if had >= value["amount"] or had not in history[value["from"]]:
                problems.append(
                    f"payment {value['paymentId']} refused at balance {had} for {value['amount']} ({reason})"
                )
    h.extra["balances"] = balances
    h.extra["versions"] = versions
    return problems


def _audit(h: History) -> list[str]:
    problems = []
    latest: dict[str, Any] = {}
    for _, _, key, value in sorted(h.audit, key=lambda r: (r[0], r[1])):
        latest[key.decode() if key else ""] = value
    balances = h.extra.get("balances", {})
    versions = h.extra.get("versions", {})
    for account, balance in balances.items():
        got = latest.get(f"account:{account}")
        if got is None or (got["balance"], got["version"]) != (balance, versions[account]):
            problems.append(
                f"audit account:{account} is {got}, the ledger ends at {balance} (version {versions[account]})"
            )
    for _, _, _, value in h.completed + h.failed:
        got = latest.get(f"payment:{value['paymentId']}")
        if got is None or got["status"] != value["status"]:
            problems.append(
                f"audit payment:{value['paymentId']} is {got and got['status']}, the outcome {value['status']}"
            )
    return problems


def compaction_problems(audit: Sequence[Record], checkpoints: Mapping[int, int]) -> list[str]:
    """Below ``checkpoints[partition]`` (the cleaner's checkpoint of that partition of the audit log)
    each key appears at most once; a partition without a checkpoint was never cleaned."""
    problems = []
    partitions = {p for p, _, _, _ in audit}
    for p in sorted(partitions):
        if p not in checkpoints:
            problems.append(f"audit partition {p} was never cleaned")
            continue
        keys = Counter(k for q, o, k, _ in audit if q == p and o < checkpoints[p])
        repeated = {k: n for k, n in keys.items() if n > 1}
        if repeated:
            problems.append(
                f"audit partition {p}: keys repeated below the cleaner checkpoint {checkpoints[p]}: {repeated}"
            )
    return problems
