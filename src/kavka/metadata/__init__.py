"""The cluster image, metadata records, and config definitions (sans-IO)."""

from .config import BrokerConfig, ConfigEntry, ConfigSource, ConfigSynonym, Listener, parse_properties
from .configtypes import ConfigError, ConfigType
from .image import MetadataDelta, MetadataImage, PartitionImage, TopicImage, apply, apply_all
from .records import decode_record, encode_record

__all__ = [
    "BrokerConfig",
    "ConfigEntry",
    "ConfigError",
    "ConfigSource",
    "ConfigSynonym",
    "ConfigType",
    "Listener",
    "MetadataDelta",
    "MetadataImage",
    "PartitionImage",
    "TopicImage",
    "apply",
    "apply_all",
    "decode_record",
    "encode_record",
    "parse_properties",
]
