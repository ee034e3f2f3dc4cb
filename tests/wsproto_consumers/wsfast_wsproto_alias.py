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


def pytest_terminal_summary(terminalreporter):
    import wsproto

    # The CI script checks for this line: proof the suite ran on the drop-in.
    terminalreporter.write_line("wsproto under test: %s" % wsproto.__name__)
