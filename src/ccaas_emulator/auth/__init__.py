"""Entra-ID-style bearer tokens: signing keys, minting, verification, callers and roles."""
