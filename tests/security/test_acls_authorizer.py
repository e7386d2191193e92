"""The authorizer's semantics with no I/O (kavka.security.authorizer), including the index against a
plain scan of every ACL, and the ACL records through the metadata image and a snapshot's records."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from kavka.metadata.image import MetadataImage, apply_all
from kavka.metadata.image_records import image_to_records
from kavka.metadata.records import decode_record, encode_record
from kavka.security.acl_control import acl_of, create_acls, delete_acls
from kavka.security.authorizer import (
    Acl,
    AclFilter,
    AclIndex,
    AclOperation,
    Authorizer,
    PatternType,
    PermissionType,
    ResourceType,
)

Op, P, R, T = AclOperation, PermissionType, ResourceType, PatternType
ALICE = "User:alice"


def _acl(name, op, perm=P.ALLOW, pattern=T.LITERAL, principal=ALICE, host="*", rtype=R.TOPIC) -> Acl:
    return Acl(rtype, name, pattern, principal, host, op, perm)


def _authorizer(*acls: Acl, **kw) -> Authorizer:
    a = Authorizer(**kw)
    a.update(AclIndex(acls))
    return a


def test_rules():
    a = _authorizer(
        _acl("orders", Op.READ),
        _acl("pay", Op.WRITE, pattern=T.PREFIXED),
        _acl("payroll", Op.WRITE, P.DENY),
        _acl("*", Op.DESCRIBE_CONFIGS, principal="User:*"),
        _acl("logs", Op.ALTER_CONFIGS, host="10.0.0.1"),
    )
    allowed = lambda op, name, principal=ALICE, host="127.0.0.1": a.authorize(principal, host, op, R.TOPIC, name)  # noqa: E731
    assert allowed(Op.READ, "orders") and allowed(Op.DESCRIBE, "orders")  # READ implies DESCRIBE
    assert not allowed(Op.WRITE, "orders")
    assert allowed(Op.WRITE, "payments") and not allowed(Op.WRITE, "payroll")  # DENY wins over the prefix
    assert allowed(Op.DESCRIBE, "payroll")  # a DENY WRITE implies nothing
    assert allowed(Op.DESCRIBE_CONFIGS, "anything", "User:bob")  # the wildcards
    assert not allowed(Op.ALTER_CONFIGS, "logs") and allowed(Op.ALTER_CONFIGS, "logs", host="10.0.0.1")
    assert allowed(Op.DESCRIBE_CONFIGS, "logs", host="10.0.0.1")  # ALTER_CONFIGS implies DESCRIBE_CONFIGS
    assert not allowed(Op.READ, "untouched")  # no ACL at all: the default, deny


def test_super_users_and_the_no_acl_default():
    a = _authorizer(
        _acl("orders", Op.ALL, P.DENY, principal="User:*"), super_users={"User:admin"}, allow_if_no_acl=True
    )
    assert a.authorize("User:admin", "h", Op.WRITE, R.TOPIC, "orders")  # super users ignore DENY
    assert not a.authorize(ALICE, "h", Op.WRITE, R.TOPIC, "orders")
    assert a.authorize(ALICE, "h", Op.WRITE, R.TOPIC, "other")  # no ACL on it: allowed by the default
    b = _authorizer(_acl("orders", Op.READ, principal="User:bob"), allow_if_no_acl=True)
    assert not b.authorize(ALICE, "h", Op.READ, R.TOPIC, "orders")  # some ACL on it, none for alice


def test_authorize_by_resource_type():
    a = _authorizer(_acl("xy", Op.WRITE), _acl("x", Op.WRITE, P.DENY, T.PREFIXED))
    assert not a.authorize_by_resource_type(ALICE, "h", Op.WRITE, R.TOPIC)  # dominated by the DENY prefix
    b = _authorizer(_acl("xy", Op.WRITE), _acl("x", Op.WRITE, P.DENY))
    assert b.authorize_by_resource_type(ALICE, "h", Op.WRITE, R.TOPIC)  # a literal DENY on another name
    c = _authorizer(_acl("q", Op.WRITE, T.PREFIXED), _acl("*", Op.WRITE, P.DENY))
    assert not c.authorize_by_resource_type(ALICE, "h", Op.WRITE, R.TOPIC)  # a wildcard DENY denies all


def _scan(acls, principal, host, op, name, default=False) -> bool:
    """The rules by a plain scan of every ACL (what the index must agree with)."""
    applicable = [
        x
        for x in acls
        if x.resource_type == R.TOPIC
        and (
            (x.pattern_type == T.LITERAL and x.resource_name in (name, "*"))
            or (x.pattern_type == T.PREFIXED and name.startswith(x.resource_name))
        )
    ]
    if not applicable:
        return default
    results = [x.grants(principal, host, op) for x in applicable]
    return P.DENY not in results and P.ALLOW in results


names = st.text(alphabet="ab*", min_size=1, max_size=4)
acls = st.builds(
    _acl,
    names,
    st.sampled_from([Op.READ, Op.WRITE, Op.DESCRIBE, Op.ALL, Op.ALTER]),
    st.sampled_from([P.ALLOW, P.DENY]),
    st.sampled_from([T.LITERAL, T.PREFIXED]),
    st.sampled_from([ALICE, "User:*", "User:bob"]),
    st.sampled_from(["*", "10.0.0.1"]),
)


@given(st.lists(acls, max_size=12), names, st.sampled_from([Op.READ, Op.WRITE, Op.DESCRIBE]), st.booleans())
def test_the_index_agrees_with_a_scan(found, name, op, default):
    a = _authorizer(*found, allow_if_no_acl=default)
    for host in ("10.0.0.1", "10.0.0.2"):
        assert a.authorize(ALICE, host, op, R.TOPIC, name) == _scan(found, ALICE, host, op, name, default)


def test_the_scan_checker_can_fail():
    # the checker above is not vacuous: a scan that ignored DENY would disagree
    found = [_acl("a", Op.READ), _acl("a", Op.READ, P.DENY)]
    assert _scan(found, ALICE, "h", Op.READ, "a") is False
    assert _authorizer(found[0]).authorize(ALICE, "h", Op.READ, R.TOPIC, "a") is True


def test_filters_match_as_kafkas():
    lit, pre, wild = _acl("orders", Op.READ), _acl("ord", Op.READ, pattern=T.PREFIXED), _acl("*", Op.READ)
    match = AclFilter(R.TOPIC, "orders", T.MATCH, None, None, Op.ANY, P.ANY)
    assert [x for x in (lit, pre, wild) if match.matches(x)] == [lit, pre, wild]
    exact = AclFilter(R.ANY, "orders", T.ANY, None, None, Op.ANY, P.ANY)
    assert [x for x in (lit, pre, wild) if exact.matches(x)] == [lit]
    prefixed = AclFilter(R.TOPIC, None, T.PREFIXED, ALICE, "*", Op.READ, P.ALLOW)
    assert [x for x in (lit, pre, wild) if prefixed.matches(x)] == [pre]


def test_create_and_delete_write_records_that_replay_and_snapshot():
    image = MetadataImage.empty("c")
    ok = _acl("orders", Op.READ)
    results, records = create_acls(image.acls, [ok, ok, _acl("", Op.READ), _acl("x", Op.READ, principal="x")])
    assert [r.error_code for r in results] == [0, 0, 42, 42]
    assert results[2].error_message == "Invalid empty resource name"
    # an ANY code makes no AclBinding in Kafka: the whole request fails
    refused, none = create_acls(image.acls, [ok, _acl("x", Op.ANY)])
    assert [r.error_code for r in refused] == [-1, -1] and none == []
    assert len(records) == 1  # the same ACL twice is one record
    image = apply_all(image, [decode_record(encode_record(r)) for r in records])
    assert [acl_of(r) for r in image.acls.values()] == [ok]
    assert apply_all(MetadataImage.empty("c"), image_to_records(image)).acls == image.acls
    everything = AclFilter(R.ANY, None, T.ANY, None, None, Op.ANY, P.ANY)
    results, records = delete_acls(image.acls, [everything, everything])
    assert [r.matching for r in results] == [(ok,), (ok,)] and len(records) == 1
    assert apply_all(image, records).acls == {}
    assert list(create_acls({}, [ok], new_id=lambda: uuid.UUID(int=7))[1][0].id.bytes) == list(uuid.UUID(int=7).bytes)
