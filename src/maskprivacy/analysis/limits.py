"""The web service's limits, in a module without heavy imports (``serve --help`` shows them instantly).

What they bound is explained in :mod:`.app` and docs/ANALYZE.md ("Limits and memory").
"""

MAX_UPLOAD_BYTES = 15 * 1024 * 1024  # bytes of one upload, checked while it is read
MAX_PIXELS = 30_000_000  # pixels of one photo, checked from its header before decoding
# Photos decoded and analysed at once (on 2 cores, parallel analyses only thrash), requests that may
# wait for a slot, and for how long; beyond that: 503 with Retry-After.
MAX_CONCURRENT = 1
MAX_WAITING = 4
WAIT_S = 20.0
RETRY_AFTER_S = 5
