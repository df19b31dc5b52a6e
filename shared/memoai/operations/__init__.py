"""Operations jobs: backups, retention, alert rules, readiness, state metrics.

They may use any domain and the platform; nothing below them imports them.
"""
