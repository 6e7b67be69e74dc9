"""Migrations of the test-only things context (``tests/support/things.py``): what the migration
function's tests run."""
