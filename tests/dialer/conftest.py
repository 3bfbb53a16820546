"""The dialer tests use the in-process emulator on its frozen shared clock: the `emulator` fixture of
tests/support/in_process.py, registered for the whole suite by tests/conftest.py."""
