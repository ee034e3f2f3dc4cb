"""wsfast as uvicorn's WebSocket backend: ``--ws wsfast.asgi.uvicorn:WSFastProtocol``
(or the older path ``wsfast.uvicorn:WSFastProtocol``). Imports uvicorn."""
