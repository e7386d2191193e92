"""Config definition machinery: types, validators, parsing and printing (Kafka's ``ConfigDef``).

Rules this module lives by (each checked against Kafka's ``ConfigDef`` and ``ConfigException``):

- A raw value is a string (from a .properties file or a request). It is stripped, then parsed by type:
  BOOLEAN accepts ``true``/``false`` in any case; INT/SHORT/LONG are Java ``parseInt``-style decimal
  integers (optional sign, digits only) within the Java range; DOUBLE is a Java double; LIST splits
  on commas with surrounding whitespace (an empty string is the empty list); STRING, CLASS and
  PASSWORD keep the stripped text.
- Every failure raises :class:`ConfigError` with Kafka's text,
  ``Invalid value <raw> for configuration <name>: <reason>``, e.g.
  ``Invalid value abc for configuration num.partitions: Not a number of type INT``.
- A ``None`` default means "no value" (Kafka's ``null``); validators are not run on ``None``
  except :class:`NonNull`.
- :func:`to_string` is Kafka's ``ConfigDef.convertToString``: how DescribeConfigs prints a value.
"""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "ConfigError",
    "ConfigType",
    "Importance",
    "Validator",
    "AtLeast",
    "Between",
    "ValidString",
    "ValidList",
    "NonNull",
    "NoDuplicates",
    "ConfigDef",
    "parse_value",
    "to_string",
    "INT_MAX",
    "LONG_MAX",
]

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
SHORT_MIN, SHORT_MAX = -(2**15), 2**15 - 1
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1

_INTEGER = re.compile(r"[+-]?[0-9]+")
# Java's Double.parseDouble: decimal with optional exponent, optional f/d suffix, NaN, Infinity.
_DOUBLE = re.compile(r"[+-]?(NaN|Infinity|((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)[fFdD]?)")
_COMMA = re.compile(r"\s*,\s*")


class ConfigError(ValueError):
    """A bad config name or value. ``str(e)`` is the Kafka-style message."""

    def __init__(self, message: str, name: str | None = None) -> None:
        super().__init__(message)
        self.name = name

    @classmethod
    def invalid(cls, name: str, value: object, reason: str | None) -> ConfigError:
        text = f"Invalid value {_java_str(value)} for configuration {name}"
        return cls(text + (f": {reason}" if reason else ""), name)


class ConfigType(enum.Enum):
    """Kafka's ``ConfigDef.Type``; ``id`` is the DescribeConfigs v3+ ``ConfigType`` code."""

    BOOLEAN = 1
    STRING = 2
    INT = 3
    SHORT = 4
    LONG = 5
    DOUBLE = 6
    LIST = 7
    CLASS = 8
    PASSWORD = 9

    @property
    def id(self) -> int:
        return self.value


class Importance(enum.Enum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Validator(Protocol):
    def ensure_valid(self, name: str, value: Any) -> None: ...


@dataclass(frozen=True)
class AtLeast:
    """Kafka's ``Range.atLeast``: ``Value must be at least <min>``."""

    min: int | float

    def ensure_valid(self, name: str, value: Any) -> None:
        if value is None:
            raise ConfigError.invalid(name, None, "Value must be non-null")
        if value < self.min:
            raise ConfigError.invalid(name, value, f"Value must be at least {_java_str(self.min)}")

    def __str__(self) -> str:
        return f"[{_java_str(self.min)},...]"


@dataclass(frozen=True)
class Between:
    """Kafka's ``Range.between``: ``Value must be at least`` / ``Value must be no more than``."""

    min: int | float
    max: int | float

    def ensure_valid(self, name: str, value: Any) -> None:
        if value is None:
            raise ConfigError.invalid(name, None, "Value must be non-null")
        if value < self.min:
            raise ConfigError.invalid(name, value, f"Value must be at least {_java_str(self.min)}")
        if value > self.max:
            raise ConfigError.invalid(name, value, f"Value must be no more than {_java_str(self.max)}")

    def __str__(self) -> str:
        return f"[{_java_str(self.min)},...,{_java_str(self.max)}]"


@dataclass(frozen=True)
class ValidString:
    """Kafka's ``ValidString.in``: ``String must be one of: a, b, c`` (case-sensitive)."""

    valid: tuple[str, ...]

    def ensure_valid(self, name: str, value: Any) -> None:
        if value not in self.valid:
            raise ConfigError.invalid(name, value, "String must be one of: " + ", ".join(self.valid))

    def __str__(self) -> str:
        return "[" + ", ".join(self.valid) + "]"


@dataclass(frozen=True)
class ValidList:
    """Kafka's ``ValidList.in``: every element must be one of the strings, and (broker configs) none
    twice; Kafka 4.4 still takes a topic's ``cleanup.policy=compact,compact``."""

    valid: tuple[str, ...]
    allow_duplicates: bool = False

    def ensure_valid(self, name: str, value: Any) -> None:
        if not self.allow_duplicates:
            NoDuplicates().ensure_valid(name, value)
        for item in value or ():
            ValidString(self.valid).ensure_valid(name, item)

    def __str__(self) -> str:
        return "[" + ", ".join(self.valid) + "]"


@dataclass(frozen=True)
class NoDuplicates:
    """Kafka 4.4's check on every LIST config (``ValidList``): ``Configuration 'x' values must not be
    duplicated.``; it has no "Valid Values" text."""

    def ensure_valid(self, name: str, value: Any) -> None:
        items = list(value or ())
        if len(set(items)) != len(items):
            raise ConfigError(f"Configuration '{name}' values must not be duplicated.", name)

    def __str__(self) -> str:
        return ""


@dataclass(frozen=True)
class NonNull:
    def ensure_valid(self, name: str, value: Any) -> None:
        if value is None:
            raise ConfigError.invalid(name, None, "Value must be non-null")

    def __str__(self) -> str:
        return "non-null string"


@dataclass(frozen=True)
class ConfigDef:
    """One config key: Kafka's ``ConfigKey``.

    ``default`` is already typed (int, bool, list[str], ...) or ``None`` for "no default".
    ``read_only`` marks broker configs that cannot change without a restart (DescribeConfigs'
    ``read_only``); every topic config is writable.
    """

    name: str
    type: ConfigType
    default: Any
    importance: Importance
    doc: str
    validator: Validator | None = None
    read_only: bool = True
    deprecated: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def sensitive(self) -> bool:
        return self.type is ConfigType.PASSWORD

    def parse(self, raw: str | None) -> Any:
        """Parse and validate a raw string; ``None`` means no value (validated like Kafka)."""
        value = parse_value(self.name, raw, self.type)
        if self.validator is not None and (value is not None or isinstance(self.validator, NonNull)):
            self.validator.ensure_valid(self.name, value)
        return value

    def default_string(self) -> str | None:
        return to_string(self.default, self.type)


def parse_value(name: str, raw: Any, type_: ConfigType) -> Any:
    """Kafka's ``ConfigDef.parseType`` for string input (typed input is passed through)."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        return _check_typed(name, raw, type_)
    text = raw.strip()
    if type_ is ConfigType.BOOLEAN:
        low = text.lower()
        if low == "true":
            return True
        if low == "false":
            return False
        raise ConfigError.invalid(name, raw, "Expected value to be either true or false")
    if type_ in (ConfigType.STRING, ConfigType.CLASS, ConfigType.PASSWORD):
        return text
    if type_ in (ConfigType.INT, ConfigType.SHORT, ConfigType.LONG):
        lo, hi = _RANGES[type_]
        if not _INTEGER.fullmatch(text):
            raise ConfigError.invalid(name, raw, f"Not a number of type {type_.name}")
        number = int(text)
        if not lo <= number <= hi:
            raise ConfigError.invalid(name, raw, f"Not a number of type {type_.name}")
        return number
    if type_ is ConfigType.DOUBLE:
        if not _DOUBLE.fullmatch(text):
            raise ConfigError.invalid(name, raw, "Not a number of type DOUBLE")
        return float(text.rstrip("fFdD").replace("Infinity", "inf"))
    if type_ is ConfigType.LIST:
        return [] if not text else _COMMA.split(text)
    raise AssertionError(type_)


_RANGES = {
    ConfigType.INT: (INT_MIN, INT_MAX),
    ConfigType.SHORT: (SHORT_MIN, SHORT_MAX),
    ConfigType.LONG: (LONG_MIN, LONG_MAX),
}


def _check_typed(name: str, value: Any, type_: ConfigType) -> Any:
    if type_ is ConfigType.BOOLEAN and isinstance(value, bool):
        return value
    if type_ in _RANGES and isinstance(value, int) and not isinstance(value, bool):
        lo, hi = _RANGES[type_]
        if lo <= value <= hi:
            return value
    if type_ is ConfigType.DOUBLE and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if type_ is ConfigType.LIST and isinstance(value, (list, tuple)):
        return list(value)
    raise ConfigError.invalid(name, value, f"Expected value of type {type_.name}")


def to_string(value: Any, type_: ConfigType) -> str | None:
    """Kafka's ``convertToString``: LIST joins with ``,``, BOOLEAN is lower case, DOUBLE like Java."""
    if value is None:
        return None
    if type_ is ConfigType.LIST:
        return ",".join(value)
    if type_ is ConfigType.PASSWORD:
        return "[hidden]"
    return _java_str(value)


def _java_str(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return _java_double(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_java_str(v) for v in value) + "]"
    return str(value)


def _java_double(value: float) -> str:
    """Java's ``Double.toString``: plain digits for 1e-3 <= |x| < 1e7, else ``d.dddE<n>`` (the shortest
    digits that round-trip, as Python's ``repr``), e.g. ``1.7976931348623157E308`` for Double.MAX_VALUE."""
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        text = repr(value)
        return text if "e" not in text else format(value, "f")
    mantissa, exponent = f"{value:e}".split("e")  # only to find the exponent
    digits = repr(value)
    if "e" in digits:
        mantissa, exponent = digits.split("e")
    else:  # repr chose plain digits (e.g. 12345678.0): rescale
        exp = int(exponent)
        mantissa = repr(value / 10**exp)
    if "." not in mantissa:
        mantissa += ".0"
    return f"{mantissa}E{int(exponent)}"
