"""What the drivers share, so that none imports another: the message
queue and write limits (``backpressure``) and topics (``topics``)."""
