"""The web service's limits, in a module without heavy imports (``serve --help`` shows them instantly).

What they bound is explained in :mod:`.app` and docs/ANALYZE.md ("Limits and memory", "Limits in time").
"""

MAX_UPLOAD_BYTES = 15 * 1024 * 1024  # bytes of one upload, checked while it is read
MAX_PIXELS = 30_000_000  # pixels of one photo, checked from its header before decoding
# Photos decoded and analysed at once (on 2 cores, parallel analyses only thrash), requests whose body
# is complete that may wait for a slot, and for how long; beyond that: 503 with Retry-After.
MAX_CONCURRENT = 1
MAX_WAITING = 4
WAIT_S = 20.0
RETRY_AFTER_S = 5
# Uploads whose body is still arriving. They hold no place in the queue above (a client that stops
# sending must not block analysis), but each may hold up to MAX_UPLOAD_BYTES, so they are counted too.
MAX_RECEIVING = 8
# A body must arrive at a minimum rate: BODY_GRACE_S + (bytes so far) / MIN_BODY_RATE seconds after the
# request began, and all of it within BODY_TIMEOUT_S; else 408 and the connection is closed. A stalled
# upload therefore holds its receiving place for BODY_GRACE_S seconds, not for as long as it likes.
BODY_GRACE_S = 5.0
MIN_BODY_RATE = 32 * 1024  # bytes per second
BODY_TIMEOUT_S = 120.0
# Seconds one photo may spend being decoded and analysed once it holds a slot; past it the request
# gets 503 at once, and its worker stops when the step it is in (decoding, analysis) ends.
PROCESS_BUDGET_S = 60.0
# A multipart form: the photo and the three options need 4 parts; a text field is a short option value.
MAX_PARTS = 8
MAX_FIELD_BYTES = 1024
MAX_PART_HEADER_BYTES = 4096
