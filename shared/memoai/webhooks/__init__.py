"""Signed webhooks: callbacks on submit and per-owner endpoints, with retries."""
