"""ccaas-emulator: a local, faithful stand-in for the Dynamics 365 Contact Center proactive engagement APIs."""

__version__ = "0.1.0"
