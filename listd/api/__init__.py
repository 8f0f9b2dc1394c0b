"""The REST API under /api/v1, its keys, and the webhooks that tell other systems what happened."""
