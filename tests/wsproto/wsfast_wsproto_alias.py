"""pytest plugin: ``import wsproto`` gives wsfast's drop-in.

Loaded with ``-p wsfast_wsproto_alias`` (this directory on PYTHONPATH), it
runs before any test module imports wsproto, so an upstream suite tests
the drop-in unchanged. The header of the run says which wsproto it got.
"""

import wsfast.wsproto

wsfast.wsproto.install()


def pytest_report_header(config):
    import wsproto

    return "wsproto: %s (%s)" % (wsproto.__name__, wsproto.__file__)
