"""What the drivers share, so that none imports another: the message
queue and write limits (``backpressure``), topics (``topics``), the
reconnecting clients' delays (``backoff``, public as ``wsfast.backoff``)
and loop (``reconnect``), the local refusal of an oversized send
(``send_limit``), and the connection state a WebSocket object shows
(``view``)."""
