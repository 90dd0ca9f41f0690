"""The closed loop: transitions, dispatch rules, escalation, duplicates."""
