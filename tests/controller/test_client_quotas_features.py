"""The controller's client quota and feature decisions, with no broker: records out, image rebuilt
from them (Kafka's messages are checked against Kafka itself in tests/oracle/test_oracle_features_quotas.py)."""

from __future__ import annotations

import pytest

from kavka.controller.client_quotas import QuotaAlteration, QuotaOp, alter_client_quotas
from kavka.controller.features import (
    SAFE_DOWNGRADE,
    UNSAFE_DOWNGRADE,
    UPGRADE,
    FeatureUpdate,
    finalized_levels,
    update_features,
)
from kavka.metadata.client_quotas import (
    MATCH_ANY,
    MATCH_DEFAULT,
    MATCH_EXACT,
    DescribeError,
    FilterComponent,
    answer_order,
    describe_client_quotas,
)
from kavka.metadata.image import MetadataImage, apply_all
from kavka.metadata.records import FeatureLevelRecord, decode_record, encode_record

SUPPORTED = {"metadata.version": (7, 25, 25), "kraft.version": (0, 0, 0), "group.version": (0, 1, 1)}
NEVER = lambda host: False  # noqa: E731 - no host name resolves in these tests


def _alter(image, *alterations):
    results, records = alter_client_quotas(image.client_quotas, alterations, NEVER)
    # through the byte encoding, as the metadata log stores them
    return results, apply_all(image, [decode_record(encode_record(r)) for r in records]), records


def test_quotas_set_change_and_remove_through_records():
    image = MetadataImage.empty()
    user = QuotaAlteration((("user", "alice"),), (QuotaOp("producer_byte_rate", 1024.0),))
    both = QuotaAlteration(
        (("client-id", "app"), ("user", "alice")),
        (QuotaOp("request_percentage", 12.5), QuotaOp("consumer_byte_rate", 5.0)),
    )
    results, image, records = _alter(image, user, both)
    assert [r.error_code for r in results] == [0, 0] and len(records) == 3
    assert image.client_quotas == {
        (("user", "alice"),): {"producer_byte_rate": 1024.0},
        (("client-id", "app"), ("user", "alice")): {"request_percentage": 12.5, "consumer_byte_rate": 5.0},
    }
    # the same value again writes nothing; removing an absent key writes nothing
    same = QuotaAlteration((("user", "alice"),), (QuotaOp("producer_byte_rate", 1024.0), QuotaOp("x", 0, True)))
    _, image, records = _alter(image, same)
    assert records == []
    gone = QuotaAlteration((("user", "alice"),), (QuotaOp("producer_byte_rate", 0.0, remove=True),))
    _, image, records = _alter(image, gone)
    assert len(records) == 1 and (("user", "alice"),) not in image.client_quotas


def test_an_invalid_entity_does_not_stop_the_others():
    bad = QuotaAlteration((("user", "bob"),), (QuotaOp("producer_byte_rate", 10.0), QuotaOp("bogus", 1.0)))
    good = QuotaAlteration((("ip", "10.0.0.1"),), (QuotaOp("connection_creation_rate", 3.0),))
    results, image, _ = _alter(MetadataImage.empty(), bad, good)
    assert [(r.error_code, r.error_message) for r in results] == [(42, "Invalid configuration key bogus"), (0, None)]
    assert list(image.client_quotas) == [(("ip", "10.0.0.1"),)]


@pytest.mark.parametrize(
    ("parts", "op", "message"),
    [
        ((), QuotaOp("producer_byte_rate", 1.0), "Invalid empty client quota entity"),
        (
            (("ip", "host.invalid"),),
            QuotaOp("connection_creation_rate", 1.0),
            "host.invalid is not a valid IP or resolvable host.",
        ),
        (
            (("user", "u"),),
            QuotaOp("producer_byte_rate", 2.0**63 + 2**11),
            "Proposed value for producer_byte_rate is too large for a LONG.",
        ),
        (
            (("ip", None),),
            QuotaOp("connection_creation_rate", 2.0**31),
            "Proposed value for connection_creation_rate is too large for an INT.",
        ),
        ((("user", "u"),), QuotaOp("request_percentage", 0.0), "Quota request_percentage must be greater than 0"),
    ],
)
def test_refusals(parts, op, message):
    results, _, records = _alter(MetadataImage.empty(), QuotaAlteration(parts, (op,)))
    assert (results[0].error_code, results[0].error_message, records) == (42, message, [])


def test_duplicate_entity_applies_the_first_and_answers_once():
    first = QuotaAlteration((("user", "x"),), (QuotaOp("producer_byte_rate", 10.0),))
    second = QuotaAlteration((("user", "x"),), (QuotaOp("consumer_byte_rate", 10.0),))
    results, image, _ = _alter(MetadataImage.empty(), first, second)
    assert [(r.error_code, r.error_message) for r in results] == [
        (42, "Ignoring duplicate entity ClientQuotaEntity(entries={user=x})")
    ]
    assert image.client_quotas == {(("user", "x"),): {"producer_byte_rate": 10.0}}


def test_describe_match_types():
    quotas = {
        (("user", "a"),): {"k": 1.0},
        (("user", None),): {"k": 2.0},
        (("client-id", "c"), ("user", "a")): {"k": 3.0},
        (("ip", "1.2.3.4"),): {"k": 4.0},
    }

    def values(components, strict=False):
        return sorted(v["k"] for _, v in describe_client_quotas(quotas, components, strict))

    assert values([FilterComponent("user", MATCH_EXACT, "a")]) == [1.0, 3.0]
    assert values([FilterComponent("user", MATCH_EXACT, "a")], strict=True) == [1.0]
    assert values([FilterComponent("user", MATCH_DEFAULT, None)]) == [2.0]
    assert values([FilterComponent("user", MATCH_ANY, None)]) == [1.0, 3.0]
    assert values([]) == [1.0, 2.0, 3.0, 4.0]
    assert values([], strict=True) == []
    with pytest.raises(DescribeError, match="Unknown match type 9"):
        values([FilterComponent("user", 9, None)])
    assert answer_order([("ip", "x"), ("user", "u"), ("client-id", "c")]) == [
        ("client-id", "c"),
        ("user", "u"),
        ("ip", "x"),
    ]


def test_feature_levels_default_until_written_and_zero_is_kept():
    image = MetadataImage.empty()
    defaults = {name: v[2] for name, v in SUPPORTED.items()}
    assert finalized_levels(image, defaults) == {"metadata.version": 25, "kraft.version": 0, "group.version": 1}
    result = update_features(image, [FeatureUpdate("group.version", 0, SAFE_DOWNGRADE)], False, SUPPORTED, 1)
    assert (result.error_code, result.records) == (0, [FeatureLevelRecord("group.version", 0)])
    image = apply_all(image, result.records)
    assert finalized_levels(image, defaults)["group.version"] == 0
    assert update_features(image, [FeatureUpdate("group.version", 0, UPGRADE)], False, SUPPORTED, 1).records == []


@pytest.mark.parametrize(
    ("update", "reason"),
    [
        (FeatureUpdate("group.version", 0, UPGRADE), "Can't downgrade the version of this feature without setting"),
        (FeatureUpdate("metadata.version", 26, UPGRADE), "Local controller 3 only supports versions 7-25"),
        (FeatureUpdate("x.version", 1, UPGRADE), "Local controller 3 does not support this feature."),
        (FeatureUpdate("metadata.version", 20, UNSAFE_DOWNGRADE), "Unsafe metadata downgrade is not supported"),
        (FeatureUpdate("group.version", 1, 9), "The controller does not support the given upgrade type."),
    ],
)
def test_feature_update_refusals(update, reason):
    result = update_features(MetadataImage.empty(), [update], False, SUPPORTED, 3)
    assert result.error_code == 95 and reason in (result.error_message or "") and result.records == []
