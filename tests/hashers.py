"""The suite's password hasher: Django's PBKDF2-SHA256 at one iteration.

Production hashes a password with 1,000,000 iterations (~0.4 s of CPU here); the suite makes
five people per ``world`` fixture and signs people in by password hundreds of times, which cost
most of its CPU time. The hashes keep the standard ``pbkdf2_sha256$<iterations>$...`` form, so
any process with Django's default hashers (a server or worker the suite starts as a subprocess)
verifies them. Tests of hashing itself set their own hashers.
"""

from __future__ import annotations

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class FastPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    iterations = 1
