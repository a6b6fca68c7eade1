"""The evals harness: suites of handoffs with golden plans, scorers, a concurrent runner and a store."""
