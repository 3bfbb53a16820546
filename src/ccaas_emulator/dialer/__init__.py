"""The dialer: moves deliveries through their lifecycle on the shared clock, like the real service."""
