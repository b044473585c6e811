"""Handoffs: the risk taxonomy, the handoff state machine, the agent API, deadlines."""
