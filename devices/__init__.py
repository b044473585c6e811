"""Devices: enrollment, per-device decision keys, verdict signing, revocation."""
