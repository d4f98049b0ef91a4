"""Supports: the vote window, quotas, receipts and the frozen tally."""
