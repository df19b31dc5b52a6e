"""Accounts, logins and the credentials that identify a caller."""
