"""Request bodies decoded from kio's schema classes, every length checked before it is used.

kio gives each (API key, version) a frozen dataclass (``kio.index.load_request_schema``) whose fields
carry ``metadata={"kafka_type": ..., "tag": ...}`` and whose annotations say what is nullable
(``X | None``) and what is an array (``tuple[X, ...]``). :func:`request_decoder` turns one such class,
once, into Python source that reads the wire form straight into the same dataclasses kio's own reader
builds, so handlers see identical objects. The source is compiled with ``exec`` (as ``dataclasses``
does for ``__init__``); its only inputs are the schema classes, never request bytes.

Wire forms (Kafka's protocol guide; ``flexible`` = the version uses KIP-482 compact forms)::

    BOOL INT8 INT16 UINT16 INT32 INT64 FLOAT64 UUID   fixed width, big-endian (BOOL: non-zero is true)
    STRING       INT16 n (-1 null)            | flexible: UVARINT n+1 (0 null); then n UTF-8 bytes
    BYTES        INT32 n (-1 null)            | flexible: UVARINT n+1 (0 null); then n bytes
    ARRAY        INT32 n (-1 null)            | flexible: UVARINT n+1 (0 null); then n elements
    STRUCT       its fields in order; flexible: then a tagged-field section
    TAGGED       UVARINT count, then per field UVARINT tag, UVARINT size, size bytes

The rules every generated reader follows, so no request can make the broker allocate more than its
own frame justifies (kio 0.6.5's Rust reader aborts the process on a collection length such as
``0xfffffffe``):

- A string or bytes length is checked against the bytes left before anything is sliced, and a string
  longer than 0x7fff is refused (Kafka's generated readers do both).
- An array count is checked against the bytes left divided by the smallest encoding of one element
  (at least 1 byte), before the elements are read; Kafka's check is count > bytes left.
- A negative length (or compact 0) is null; null where the schema does not allow it is refused, with
  Kafka's message ``non-nullable field X was serialized as null``.
- Tagged fields the schema knows are decoded from their own ``size`` bytes; unknown tags are skipped
  (KIP-482). A tag count larger than the bytes left can hold (2 bytes per tag) is refused.
- Strings are decoded as UTF-8 with replacement characters for invalid bytes, as Java's
  ``new String(bytes, UTF_8)`` does in Kafka.
- Bytes after the body are ignored, as Kafka does.

Every failure is a :class:`ProtocolDecodeError`; nothing else escapes (truncation inside a fixed-width
run surfaces as ``struct.error``/``IndexError`` and is converted at the top).
"""

from __future__ import annotations

import datetime
import functools
import struct
import types
import typing
import uuid
from collections.abc import Callable
from dataclasses import MISSING, Field, fields, is_dataclass
from typing import Any, NoReturn, TypeAlias

from kio.schema.errors import ErrorCode
from kio.static.protocol import Entity

from kavka.protocol.extra_schemas import load_request_schema
from kavka.protocol.primitives import ProtocolDecodeError
from kavka.protocol.varint import Buffer

__all__ = [
    "request_decoder",
    "decode_with",
    "entity_decoder",
    "schema_fields",
    "entity_class",
    "Reader",
    "min_size",
    "SchemaField",
    "ProtocolDecodeError",
    "MAX_STRING_LENGTH",
    "FIXED_SIZES",
]

MAX_STRING_LENGTH = 0x7FFF

# Fixed-width kafka types: (struct code, bytes). Their values are converted after unpacking.
_FIXED = {
    "bool": ("B", 1),
    "int8": ("b", 1),
    "int16": ("h", 2),
    "uint16": ("H", 2),
    "int32": ("i", 4),
    "int64": ("q", 8),
    "float64": ("d", 8),
    "uuid": ("16s", 16),
    "error_code": ("h", 2),
    "timedelta_i32": ("i", 4),
    "timedelta_i64": ("q", 8),
    "datetime_i64": ("q", 8),
}
_VARIABLE = {"string", "bytes", "records"}
#: Bytes of each fixed-width kafka type.
FIXED_SIZES = {k: size for k, (_, size) in _FIXED.items()}
_UTC = datetime.UTC
_ZERO_UUID = bytes(16)


def _uvarint_tail(b: Buffer, p: int, first: int) -> tuple[int, int]:
    """The rest of an UNSIGNED_VARINT whose first byte (>= 0x80) was ``first``; at most 5 bytes."""
    value = first & 0x7F
    shift = 7
    while True:
        x = b[p]
        p += 1
        value |= (x & 0x7F) << shift
        if x < 0x80:
            return value, p
        shift += 7
        if shift > 28:
            raise ProtocolDecodeError("unsigned varint longer than 5 bytes")


def _uuid(raw: bytes) -> uuid.UUID | None:
    return None if raw == _ZERO_UUID else uuid.UUID(bytes=raw)


_TD = datetime.timedelta


def _timedelta(ms: int) -> datetime.timedelta:
    """``ms`` as a timedelta; an int64 beyond timedelta's range (~2.7e15 days) saturates."""
    try:
        return _TD(milliseconds=ms)
    except OverflowError:
        return _TD.max if ms > 0 else _TD.min


def _datetime(ms: int) -> datetime.datetime:
    try:
        return datetime.datetime.fromtimestamp(ms / 1000, _UTC)
    except (OverflowError, ValueError, OSError):
        raise ProtocolDecodeError(f"timestamp {ms} out of range") from None


def _error_code(v: int) -> ErrorCode:
    try:
        return ErrorCode(v)
    except ValueError:
        raise ProtocolDecodeError(f"unknown error code {v}") from None


def _fail(message: str) -> NoReturn:
    raise ProtocolDecodeError(message)


_CONVERT = {
    "bool": "({v} != 0)",
    "uuid": "_uuid({v})",
    "error_code": "_error_code({v})",
    "timedelta_i32": "_td(milliseconds={v})",
    "timedelta_i64": "_tdl({v})",
}


# --- schema introspection ------------------------------------------------------------------------


def _is_union(tp: object) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


#: A compiled reader: ``reader(buf, offset, len(buf)) -> (entity, offset after it)``.
Reader: TypeAlias = Callable[[Buffer, int, int], tuple[Any, int]]


def entity_class(tp: object) -> type[Entity] | None:
    """``tp`` if it is a kio entity class (a dataclass with kio's class attributes), else None."""
    return typing.cast("type[Entity]", tp) if isinstance(tp, type) and is_dataclass(tp) else None


class SchemaField:
    """One dataclass field, classified: kind is "fixed", "var", "entity", "array_entity", "array_prim"."""

    __slots__ = ("name", "kafka_type", "kind", "nullable", "entity", "tag", "default", "factory")

    name: str
    kafka_type: str
    kind: str
    nullable: bool
    entity: type[Entity] | None
    tag: int | None
    default: object
    factory: Callable[[], object] | object  # dataclasses.MISSING when the field has no factory

    def __init__(self, cls: type, f: Field[Any], hint: object) -> None:
        self.name = f.name
        self.kafka_type = f.metadata.get("kafka_type", "")
        self.tag = f.metadata.get("tag")
        self.default = f.default
        self.factory = f.default_factory
        self.nullable = False
        tp = hint
        if _is_union(tp):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            self.nullable = len(args) < len(typing.get_args(tp))
            if len(args) != 1:
                raise TypeError(f"{cls.__name__}.{f.name}: unsupported union {hint}")
            tp = args[0]
        self.entity = None
        if typing.get_origin(tp) is tuple:
            elem = entity_class(typing.get_args(tp)[0])
            if elem is not None:
                self.kind, self.entity = "array_entity", elem
            else:
                self.kind = "array_prim"
                self._check_prim(cls)
        elif (ent := entity_class(tp)) is not None:
            self.kind, self.entity = "entity", ent
        else:
            self._check_prim(cls)
            self.kind = "fixed" if self.kafka_type in _FIXED else "var"

    def _check_prim(self, cls: type) -> None:
        if self.kafka_type not in _FIXED and self.kafka_type not in _VARIABLE:
            raise TypeError(f"{cls.__name__}.{self.name}: unsupported kafka type {self.kafka_type or None!r}")


@functools.cache
def schema_fields(cls: type[Entity]) -> tuple[SchemaField, ...]:
    hints = typing.get_type_hints(cls)
    return tuple(SchemaField(cls, f, hints[f.name]) for f in fields(cls))


def _prim_min(kafka_type: str, flexible: bool) -> int:
    if kafka_type in _FIXED:
        return _FIXED[kafka_type][1]
    if flexible:
        return 1
    return 2 if kafka_type == "string" else 4


@functools.cache
def min_size(cls: type[Entity]) -> int:
    """The fewest bytes one encoding of ``cls`` can take (arrays empty, strings empty, no tags)."""
    flexible = bool(cls.__flexible__)
    size = 1 if flexible else 0
    for f in schema_fields(cls):
        if f.tag is not None:
            continue
        if f.kind in ("array_entity", "array_prim"):
            size += 1 if flexible else 4
        elif f.entity is not None:  # kind "entity"
            size += (1 if f.nullable else 0) + min_size(f.entity)
        else:
            size += _prim_min(f.kafka_type, flexible)
    return size


# --- code generation ---------------------------------------------------------------------------


class _Gen:
    """Emits one module of reader functions: ``_r<i>(b, p, L) -> (entity, p)`` per entity class."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.ns: dict[str, Any] = {
            "_S": struct.Struct,
            "_uvt": _uvarint_tail,
            "_uuid": _uuid,
            "_td": datetime.timedelta,
            "_tdl": _timedelta,
            "_error_code": _error_code,
            "_dt": _datetime,
            "_fail": _fail,
            "_E": ProtocolDecodeError,
            "_MAXS": MAX_STRING_LENGTH,
            "_unpack": struct.unpack_from,
        }
        self.names: dict[type[Entity], str] = {}
        self.counter = 0

    def const(self, value: Any, prefix: str = "_k") -> str:
        self.counter += 1
        name = f"{prefix}{self.counter}"
        self.ns[name] = value
        return name

    def entity(self, cls: type[Entity]) -> str:
        name = self.names.get(cls)
        if name is not None:
            return name
        name = self.names[cls] = f"_r{len(self.names)}"
        self._entity(cls, name)
        return name

    # -- per entity --

    def _entity(self, cls: type[Entity], fname: str) -> None:
        flexible = bool(cls.__flexible__)
        flist = schema_fields(cls)
        body: list[str] = []
        cname = self.const(cls, "_C")
        where = cls.__name__
        run: list[SchemaField] = []

        def flush_run() -> None:
            if not run:
                return
            fmt = ">" + "".join(_FIXED[f.kafka_type][0] for f in run)
            st = self.const(struct.Struct(fmt), "_s")
            size = sum(_FIXED[f.kafka_type][1] for f in run)
            targets = ", ".join(f"v_{f.name}" for f in run)
            body.append(f"{targets}{',' if len(run) == 1 else ''} = {st}.unpack_from(b, p)")
            body.append(f"p += {size}")
            for f in run:
                body.extend(self._convert(f, f"v_{f.name}"))
            run.clear()

        tagged = [f for f in flist if f.tag is not None]
        for f in flist:
            if f.tag is not None:
                continue
            if f.kind == "fixed":
                run.append(f)
                continue
            flush_run()
            body.extend(self._read(f, f"v_{f.name}", flexible, f"{where}.{f.name}"))
        flush_run()
        if flexible:
            body.extend(self._tags(cls, tagged, where))
        args = []
        for f in flist:
            if f.tag is not None:
                args.append(f"{f.name}=v_{f.name}")
            else:
                args.append(f"{f.name}=v_{f.name}")
        body.append(f"return {cname}({', '.join(args)}), p")
        self.lines.append(f"def {fname}(b, p, L):")
        self.lines.extend("    " + line for line in body)
        self.lines.append("")

    def _convert(self, f: SchemaField, var: str) -> list[str]:
        kt = f.kafka_type
        if kt == "datetime_i64":
            if f.nullable:
                return [f"{var} = None if {var} == -1 else _dt({var})"]
            return [f"{var} = _dt({var})"]
        conv = _CONVERT.get(kt)
        return [f"{var} = {conv.format(v=var)}"] if conv else []

    def _length(self, var: str, flexible: bool, legacy_code: str, legacy_size: int) -> list[str]:
        """Read a length into ``var`` with -1 meaning null (compact n+1 is turned into n)."""
        if flexible:
            return [
                f"{var} = b[p]",
                "p += 1",
                f"if {var} > 127: {var}, p = _uvt(b, p, {var})",
                f"{var} -= 1",
            ]
        return [f"{var}, = _unpack('>{legacy_code}', b, p)", f"p += {legacy_size}"]

    def _null(self, f: SchemaField, var: str, what: str, nullable: bool) -> list[str]:
        if nullable:
            return [f"{var} = None"]
        return [f"raise _E({('non-nullable field ' + what + ' was serialized as null')!r})"]

    def _read(self, f: SchemaField, var: str, flexible: bool, what: str) -> list[str]:
        """Lines reading one non-fixed field into ``var`` (fixed fields are batched by the caller)."""
        out: list[str] = []
        kind = f.kind
        if kind == "fixed":
            code, size = _FIXED[f.kafka_type]
            out += [f"{var}, = _unpack('>{code}', b, p)", f"p += {size}"]
            out += self._convert(f, var)
            return out
        if kind == "var":
            return self._read_var(f.kafka_type, var, flexible, what, f.nullable)
        if kind == "entity":
            assert f.entity is not None  # classified so by SchemaField
            reader = self.entity(f.entity)
            if f.nullable:  # Kafka's nullable struct: INT8 marker, negative = null
                return [
                    "n = b[p]",
                    "p += 1",
                    f"if n >= 128: {var} = None",
                    f"else: {var}, p = {reader}(b, p, L)",
                ]
            return [f"{var}, p = {reader}(b, p, L)"]
        # arrays
        out += self._length("n", flexible, "i", 4)
        out.append("if n < 0:")
        out += ["    " + line for line in self._null(f, var, what, f.nullable)]
        if f.entity is not None:  # kind "array_entity"
            elem_min = max(1, min_size(f.entity))
        else:
            elem_min = _prim_min(f.kafka_type, flexible)
        out.append(f"elif n * {elem_min} > L - p:")
        out.append(f"    raise _E('{what}: %d elements claimed, %d bytes left' % (n, L - p))")
        out.append("else:")
        if f.entity is not None:  # kind "array_entity"
            reader = self.entity(f.entity)
            out += [
                "    items = []",
                "    for _ in range(n):",
                f"        item, p = {reader}(b, p, L)",
                "        items.append(item)",
                f"    {var} = tuple(items)",
            ]
        elif f.kafka_type in _FIXED and f.kafka_type not in ("uuid", "datetime_i64"):
            code, size = _FIXED[f.kafka_type]
            out.append(f"    {var} = _unpack('>%d{code}' % n, b, p)")
            out.append(f"    p += n * {size}")
            conv = _CONVERT.get(f.kafka_type)
            if conv:
                out.append(f"    {var} = tuple([{conv.format(v='x')} for x in {var}])")
        else:
            elem = SchemaField.__new__(SchemaField)
            elem.name, elem.kafka_type, elem.nullable, elem.tag = f.name, f.kafka_type, False, None
            elem.kind = "fixed" if f.kafka_type in _FIXED else "var"
            inner = self._read(elem, "item", flexible, what + " element")
            out += ["    items = []", "    for _ in range(n):"]
            out += ["        " + line for line in inner]
            out += ["        items.append(item)", f"    {var} = tuple(items)"]
        return out

    def _read_var(self, kafka_type: str, var: str, flexible: bool, what: str, nullable: bool) -> list[str]:
        is_string = kafka_type == "string"
        out = self._length("n", flexible, "h" if is_string else "i", 2 if is_string else 4)
        fake = SchemaField.__new__(SchemaField)
        out.append("if n < 0:")
        out += ["    " + line for line in self._null(fake, var, what, nullable)]
        if is_string:
            out.append("elif n > _MAXS:")
            out.append(f"    raise _E('string field {what} had invalid length %d' % n)")
        out.append("elif p + n > L:")
        out.append(f"    raise _E('{what}: %d bytes claimed, %d left' % (n, L - p))")
        out.append("else:")
        if is_string:
            out.append(f"    {var} = str(b[p:p + n], 'utf-8', 'replace')")
        else:
            out.append(f"    {var} = bytes(b[p:p + n])")
        out.append("    p += n")
        return out

    def _tags(self, cls: type[Entity], tagged: list[SchemaField], where: str) -> list[str]:
        out: list[str] = []
        for f in tagged:
            if f.factory is not MISSING:
                out.append(f"v_{f.name} = {self.const(f.factory)}()")
            else:
                out.append(f"v_{f.name} = {self.const(f.default)}")
        out += [
            "nt = b[p]",
            "p += 1",
            "if nt > 127: nt, p = _uvt(b, p, nt)",
            "if nt:",
            "    if nt * 2 > L - p:",
            f"        raise _E('{where}: %d tagged fields claimed, %d bytes left' % (nt, L - p))",
            "    for _ in range(nt):",
            "        tag = b[p]",
            "        p += 1",
            "        if tag > 127: tag, p = _uvt(b, p, tag)",
            "        size = b[p]",
            "        p += 1",
            "        if size > 127: size, p = _uvt(b, p, size)",
            "        if p + size > L:",
            f"            raise _E('{where}: tagged field of %d bytes, %d left' % (size, L - p))",
        ]
        for i, f in enumerate(tagged):
            assert f.tag is not None  # only tagged fields are passed in
            reader = self._tag_reader(cls, f, where)
            out.append(f"        {'if' if i == 0 else 'elif'} tag == {int(f.tag)}:")
            out.append(f"            v_{f.name} = {reader}(b[p:p + size])")
        out.append("        p += size")
        return out

    def _tag_reader(self, cls: type[Entity], f: SchemaField, where: str) -> str:
        """A function reading one tagged field's value from its own bytes (a fresh buffer)."""
        name = self.const(None, "_t")
        lines = self._read(f, "v", True, f"{where}.{f.name}")
        self.lines.append(f"def {name}(b):")
        self.lines.append("    p = 0")
        self.lines.append("    L = len(b)")
        self.lines.extend("    " + line for line in lines)
        self.lines.append("    return v")
        self.lines.append("")
        return name


def _compile(cls: type[Entity]) -> Reader:
    gen = _Gen()
    top = gen.entity(cls)
    source = "\n".join(gen.lines)
    code = compile(source, f"<kavka decoder {cls.__module__}.{cls.__qualname__}>", "exec")
    exec(code, gen.ns)  # noqa: S102 - source generated from kio's schema classes only
    reader: Reader = gen.ns[top]
    return reader


@functools.cache
def entity_decoder(cls: type[Entity]) -> Reader:
    """The compiled reader of one kio entity class: ``reader(buf, offset, len(buf)) -> (obj, end)``."""
    return _compile(cls)


@functools.cache
def request_decoder(api_key: int, api_version: int) -> Reader:
    """The compiled reader for one request (API key, version); raises kio's index errors if unknown."""
    return entity_decoder(load_request_schema(api_key, api_version))


def decode_with(reader: Reader, buf: Buffer, offset: int) -> tuple[Any, int]:
    """Run a compiled reader over ``buf`` (bytes, bytearray or memoryview) from ``offset``.

    Returns ``(entity, offset after it)``; every malformed input raises ProtocolDecodeError.
    """
    if offset < 0 or offset > len(buf):
        raise ProtocolDecodeError(f"offset {offset} outside a buffer of {len(buf)} bytes")
    try:
        return reader(buf, offset, len(buf))
    except (struct.error, IndexError):
        raise ProtocolDecodeError(f"truncated request (frame of {len(buf)} bytes)") from None
