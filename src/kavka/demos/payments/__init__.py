"""The guide's Payment & Banking design on Kafka's clients (``kavka demo payments``).

Services, each its own process: the Payment API (`kavka.demos.payments.api`: idempotency keys kept in
a compacted topic) and the payment processor (`kavka.demos.payments.processor`: fraud rule, balance
check, debit and credit, outcome, audit and consumer offsets in one transaction). `topics` names the
topics and holds the hot-account partitioner, `ledger` and `fraud` the decisions (no Kafka in them),
`workload` the seeded payment stream and its HTTP client, `command` the click command. See
examples/payments/README.md.
"""
