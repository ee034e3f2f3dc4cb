"""The codec: frames, masks, UTF-8 and deflate, in C (``_core``, over
csrc/) or in pure Python (``_python``, also the test oracle). ``backend``
picks one; ``prepared`` encodes a message once for many sends."""
