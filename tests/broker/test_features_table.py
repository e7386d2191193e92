"""ApiVersions' feature table agrees with the controller's, which UpdateFeatures checks against."""

from kavka.broker.handlers.api_versions import FEATURES
from kavka.controller.features import BOOTSTRAP_LEVELS, SUPPORTED_FEATURES


def test_api_versions_advertises_what_the_controller_supports():
    for name, (lo, hi) in SUPPORTED_FEATURES.items():
        assert FEATURES[name] == (lo, hi, BOOTSTRAP_LEVELS.get(name, 0)), name
    # Kafka 4.4's feature names, all of them known (transaction.version is the transactions work's)
    assert set(FEATURES) == {
        "metadata.version",
        "kraft.version",
        "group.version",
        "transaction.version",
        "eligible.leader.replicas.version",
        "share.version",
        "streams.version",
    }
