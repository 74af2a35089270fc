"""Makes tests/ a package, so that pytest puts the checkout (not tests/) on sys.path for
tests/conftest.py and tests/test_repo_rules.py: with tests/ on sys.path, tests/firmware would
join the `firmware` namespace package ahead of the real firmware tree."""
