"""Response headers the API views share."""

# Stripe's name for it: a client (or its HTTP library's retry logic) can tell that this answer is
# the stored result of an earlier request with the same Idempotency-Key, not a new action.
IDEMPOTENT_REPLAYED_HEADER = "Idempotent-Replayed"


def replay_headers(created):
    """`{"Idempotent-Replayed": "true"}` for an answer replayed from an earlier request, else `{}`."""
    return {} if created else {IDEMPOTENT_REPLAYED_HEADER: "true"}
