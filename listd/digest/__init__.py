"""Digests: posts gathered per list and sent as one MIME, plain-text or summary message."""
