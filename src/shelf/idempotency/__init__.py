"""Idempotent creating POSTs: the first complete response to an `Idempotency-Key`, replayed."""
