"""The emulator's control API (/emulator/v1): the clock, scripted outcomes, representatives, reset, journal."""
