"""The guide's system designs as runnable applications (``kavka demo <name>``).

Each demo is a set of services that talk to a broker only through a Kafka client (confluent-kafka), the
way a user's application would: nothing here imports the broker's own layers. A demo's services run as
separate processes (``python -m kavka.demos.<demo>.<service>``) so that one can be killed and restarted
while the others go on; ``kavka demo <name>`` starts them all against a running broker, or starts one.
"""
