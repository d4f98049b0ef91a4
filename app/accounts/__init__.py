"""Accounts: sign-up, email confirmation, sign-in, password reset."""
