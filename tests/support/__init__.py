"""What the tests share: helpers, constants and fixtures. Test modules import from here, never from each other.

- demo.py      the demo organization the tests talk to (its URL, the frozen moment NOW, seeded ids)
- urls.py      the Web API paths the tests call
- samples.py   the reference samples (tests/fixtures/) and bodies built from them
- tokens.py    bearer tokens minted as the emulator's authority would, or forged for attack tests
- database.py  the back ends every persistence test runs on, and the per-test reset
- postgres.py  throwaway PostgreSQL databases (also used by bench/)
- bulk.py      many deliveries at once (plan tests, housekeeping, bench/read_side.py)
- apps.py      create_test_app: create_app with the routes' request handling built once per process
- in_process.py  the emulator in this process on a frozen clock: the `emulator` fixture (dialer, OData)
- servers.py   `ccaas-emulator serve` in its own process: end-to-end, Postman and real-client tests
- node.py      node projects the tests run (DynamicsWebApi, newman)

Fixtures defined here are registered for the whole suite by tests/conftest.py (`pytest_plugins`).
"""
