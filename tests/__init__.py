"""daskgrad tests; shared helpers live in conftest.py."""
