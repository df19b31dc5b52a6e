"""Infrastructure every domain may use: database sessions, the broker and the queue,
logging, metrics, rate limits, errors, identity, HTTP middleware.

Platform modules import only `memoai.config`, `memoai.models` and each other, never a
domain or an operations job (import-linter checks it in `make lint`).
"""
