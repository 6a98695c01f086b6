"""The chaos scenario's parts: recorded calls, simulated users, faults, and the invariant checks."""
