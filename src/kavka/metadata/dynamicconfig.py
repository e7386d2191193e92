"""Which dynamic broker config changes are allowed: Kafka's ``DynamicBrokerConfig.validate``.

A change is the resulting set of dynamic configs of one broker resource (a broker id, or ``""`` for the
cluster-wide default). Checks, in Kafka's order, each failing with Kafka's text (the broker answers
INVALID_REQUEST with it); Kafka prints name sets as Java sets, ``[a, b]``:

1. read-only names: ``Cannot update these configs dynamically: [log.dirs]``;
2. security configs Kafka changes only with a listener prefix (``ssl.keystore.*``, ``ssl.truststore.*``,
   ``ssl.key.password``): ``These security configs can be dynamically updated only per-listener using
   the listener prefix: [ssl.keystore.type]``;
3. every known name's value parses as its type (``Invalid value abc for configuration x: Not a number of
   type LONG``);
4. for the cluster default, per-broker names: ``Cannot update these configs at default cluster level,
   broker id must be specified: [listeners]``;
5. every known name's validator (``Invalid value -1 for configuration message.max.bytes: Value must be
   at least 0``);
6. thread counts may at most double or halve from the broker's current value per change (Kafka resizes
   its pools in place), with Kafka's wrapped message ``Invalid value org.apache.kafka.common.config.
   ConfigException: Dynamic thread count update validation failed for num.io.threads=100, value should
   not be greater than double the current value 8 for configuration Invalid dynamic configuration``;
   the log cleaner's own: ``... Log cleaner threads cannot be increased to more than double the current
   value 1 ...``.

Names Kafka does not know are custom configs: accepted and stored as given, as Kafka does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .configcatalogue import LISTENER_ONLY, PER_BROKER, update_mode
from .configdefs import BROKER_CONFIGS
from .configtypes import ConfigError, parse_value

__all__ = ["THREAD_POOL_CONFIGS", "java_set", "validate_dynamic_broker_configs"]

# Kafka's DynamicThreadPool reconfigurables (broker side) and the log cleaner's thread count.
THREAD_POOL_CONFIGS = (
    "num.io.threads",
    "num.network.threads",
    "num.replica.fetchers",
    "num.recovery.threads.per.data.dir",
    "background.threads",
)
_CLEANER_THREADS = "log.cleaner.threads"


def java_set(names: Iterable[str]) -> str:
    """A set of names as Java's ``AbstractCollection.toString`` prints it (sorted here: Kafka's order is
    its hash order)."""
    return "[" + ", ".join(sorted(names)) + "]"


def _reconfiguration_error(message: str) -> ConfigError:
    # Kafka wraps the reconfigurable's ConfigException in another one, message and all.
    return ConfigError(
        f"Invalid value org.apache.kafka.common.config.ConfigException: {message} "
        "for configuration Invalid dynamic configuration"
    )


def validate_dynamic_broker_configs(props: Mapping[str, str], per_broker: bool, current: Callable[[str], Any]) -> None:
    """Raise :class:`ConfigError` (Kafka's message) if ``props`` may not be the dynamic config set of a
    broker (``per_broker``) or of the cluster default. ``current(name)`` is the broker's effective
    typed value of a config now, for the thread-count rules."""
    known = {k: v for k, v in props.items() if k in BROKER_CONFIGS}
    static = [k for k in known if BROKER_CONFIGS[k].read_only]
    if static:
        raise ConfigError(f"Cannot update these configs dynamically: {java_set(static)}")
    listener_only = [k for k in known if k in LISTENER_ONLY]
    if listener_only:
        raise ConfigError(
            "These security configs can be dynamically updated only per-listener using the listener prefix: "
            + java_set(listener_only)
        )
    for key, value in known.items():
        parse_value(key, value, BROKER_CONFIGS[key].type)
    if not per_broker:
        only = [k for k in known if update_mode(k) == PER_BROKER]
        if only:
            raise ConfigError(
                f"Cannot update these configs at default cluster level, broker id must be specified: {java_set(only)}"
            )
    values = {key: BROKER_CONFIGS[key].parse(value) for key, value in known.items()}
    for name in THREAD_POOL_CONFIGS:
        if name in values:
            _check_thread_count(name, values[name], current(name))
    if _CLEANER_THREADS in values:
        _check_cleaner_threads(values[_CLEANER_THREADS], current(_CLEANER_THREADS))


def _check_thread_count(name: str, new: int, old: int) -> None:
    if new == old:
        return
    failed = f"Dynamic thread count update validation failed for {name}={new}"
    if new < old // 2:
        raise _reconfiguration_error(f"{failed}, value should be at least half the current value {old}")
    if new > old * 2:
        raise _reconfiguration_error(f"{failed}, value should not be greater than double the current value {old}")


def _check_cleaner_threads(new: int, old: int) -> None:
    if new == 0:
        # Kafka divides the dedupe buffer by the thread count before its own checks (LogCleaner's
        # validateReconfiguration) and answers with the ArithmeticException's text.
        raise ConfigError("/ by zero")
    if new < old // 2:
        raise _reconfiguration_error(f"Log cleaner threads cannot be reduced to less than half the current value {old}")
    if new > old * 2:
        raise _reconfiguration_error(
            f"Log cleaner threads cannot be increased to more than double the current value {old}"
        )
