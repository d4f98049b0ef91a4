"""The steering committee of a consultation: its seats, and its workspace (major issues and the proposals in them)."""
