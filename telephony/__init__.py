"""Telephony: approval calls through SignalWire, IVR views, escalation, the simulator."""
