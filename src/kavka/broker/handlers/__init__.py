"""One module per API key; importing this package registers them all with the registry."""

from kavka.broker.handlers import (  # noqa: F401
    api_versions,
    create_topics,
    delete_topics,
    describe_cluster,
    fetch,
    init_producer_id,
    list_offsets,
    metadata,
    produce,
)
