"""Ready-made servers behind the ``wsfast`` command: echo and chat."""
