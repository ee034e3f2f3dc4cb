"""Settings of the Redis bus, with their defaults (``RedisBus`` takes each
as a keyword argument of the same name in lower case)."""

#: Largest topic plus message published across servers (bytes); a larger
#: publish raises ValueError before anything is sent.
MAX_BUS_MESSAGE = 128 * 1024
#: Bytes queued toward Redis on one connection and not yet taken by the
#: kernel. A publish that would go over it is dropped and counted, so a
#: slow or stalled Redis never blocks (nor bloats) the publishing loop.
MAX_REDIS_OUTPUT = 4 * 1024 * 1024
#: Seconds a channel stays subscribed after its last local subscriber
#: left, so a topic that empties and refills at once costs no
#: UNSUBSCRIBE/SUBSCRIBE pair.
UNSUBSCRIBE_GRACE = 2.0
#: Reconnect delays: the first retry waits about BACKOFF_MIN seconds, each
#: failure doubles it up to BACKOFF_MAX; each delay is jittered down by up
#: to half, so servers that lost Redis together do not retry together.
BACKOFF_MIN = 0.05
#: The longest reconnect delay (seconds; see BACKOFF_MIN).
BACKOFF_MAX = 5.0
#: Seconds a connection attempt to Redis may take before it counts as failed.
CONNECT_TIMEOUT = 5.0
#: Sequence counters kept per direction (one per topic published, one per
#: publisher and topic received); past it the oldest is forgotten, which
#: restarts that count (no gap is counted for a restart).
MAX_TRACKED_SEQUENCES = 100_000
#: Channels named in one SUBSCRIBE command when resubscribing.
SUBSCRIBE_BATCH = 1000
