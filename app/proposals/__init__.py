"""Proposals: needs and services, their versions, co-sponsors, comments and moderation."""
