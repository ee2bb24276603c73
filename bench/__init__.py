"""Benchmarks of the inbox's hot paths (see docs/performance.md).

.venv/bin/python -m bench              # all of them
.venv/bin/python -m bench.ingestion    # webhook acks and their processing
.venv/bin/python -m bench.queue_page        # the queue's first page at 10k and 100k
.venv/bin/python -m bench.realtime     # an event reaching 50 agent sockets
"""
