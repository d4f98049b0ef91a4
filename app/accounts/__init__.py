"""Accounts: sign-up, email confirmation, sign-in, password reset, each person's own data (RGPD)."""
