"""The audit log's tamper-evident chain: row MACs at insert (``mac``), keys with rotation
(``keys``), the sealer that chains committed rows per organisation (``sealer``) and the
verifier behind ``manage.py audit_verify`` (``verify``). See docs/audit.md."""
