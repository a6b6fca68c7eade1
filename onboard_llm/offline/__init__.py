"""The offline planner: a deterministic, rule-based reading of handoff notes."""
