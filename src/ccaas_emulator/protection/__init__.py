"""Service protection limits (limits.py), injected faults (faults.py) and the ASGI middleware that applies both."""
