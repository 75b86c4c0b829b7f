"""Only on PYTHONPATH during a travelled test run (tests/clock.py): every Python process
the tests start follows the test process's clock from its first line on."""

from tests.clock import follow_from_env

follow_from_env()
