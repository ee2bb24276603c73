"""Run every benchmark in turn: ``.venv/bin/python -m bench`` (see docs/performance.md).

Each one also runs alone (``python -m bench.ingestion``, ``bench.ingestion_profile``,
``bench.reply_profile``, ``bench.queue_page``, ``bench.queue_cases``, ``bench.case_ingestion``,
``bench.realtime``,
``bench.queue_due``, ``bench.sla_alert_latency``, ``bench.words_match``, ``bench.crypto_fields``,
``bench.rotation``, ``bench.customer_search``, ``bench.message_search``, ``bench.rules_dry_run``,
``bench.insights_panel``, ``bench.queue_views``, ``bench.audit_chain``, ``bench.soak``) with its own
options; here they run with their defaults (the soak's is an hour at 100/s).
"""

from __future__ import annotations

import subprocess
import sys

from bench._common import PYTHON, ROOT

BENCHES = (
    "bench.ingestion",
    "bench.ingestion_profile",
    "bench.reply_profile",
    "bench.queue_page",
    "bench.queue_cases",
    "bench.case_ingestion",
    "bench.realtime",
    "bench.queue_due",
    "bench.sla_alert_latency",
    "bench.sla_sweep",
    "bench.words_match",
    "bench.crypto_fields",
    "bench.rotation",
    "bench.customer_search",
    "bench.message_search",
    "bench.rules_dry_run",
    "bench.insights_panel",
    "bench.queue_views",
    "bench.audit_chain",
    "bench.soak",
)


def main() -> int:
    # One process per bench: each sets Django up on its own database.
    failed = []
    for name in BENCHES:
        print(f"\n# {name}", flush=True)
        if subprocess.run([PYTHON, "-m", name], cwd=ROOT, check=False).returncode:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
