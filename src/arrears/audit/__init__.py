"""The audit log: what the compliance engine planned, checked and did, append-only, hash-chained per
(partition, day), sealed, verifiable. See README.md for the design and its reasons.

``chain``, ``seal``, ``verify`` and ``retention`` are pure; ``log`` is the part that touches the
database.
"""
