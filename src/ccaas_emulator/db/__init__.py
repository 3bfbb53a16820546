"""Persistence: engine, units of work, column types and the table models."""
