"""The live dashboard at /dashboard: a page shipped in the package and its JSON at /emulator/v1/dashboard."""
