"""The 100,000-connection scale scenario (issue #5): connect, broadcast,
slow readers, peers and churn, each against a multi-process server on
loopback. Run it with ``python -m benchmarks.scale --help``; results and
commands are in ``benchmarks/scale/README.md``.

Files, one concern each:

- ``run.py``       command line, phase order, report (markdown + JSON)
- ``scenario.py``  the phases: connect, broadcast, slow readers, churn
- ``client.py``    a load-client process: epoll, non-blocking sockets,
                   wsfast's codec, commands on stdin, answers on stdout
- ``servers.py``   the server worker processes (wsfast, websockets, picows)
- ``control.py``   the harness <-> worker control channel (UNIX datagrams)
- ``procs.py``     process start/stop, /proc readings (RSS, descriptors)
- ``stats.py``     percentiles and formatting
"""
