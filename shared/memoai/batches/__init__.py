"""Bulk evaluation: batches of memos, individually or through Message Batches."""
