"""The steering committee of a consultation: its seats, and (next) its workspace."""
