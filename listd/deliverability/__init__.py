"""Deliverability: DKIM and ARC signing, DMARC mitigation, inbound authentication, DNS checks.

Every part takes its configuration and its DNS resolver as arguments; nothing here is global.
"""
