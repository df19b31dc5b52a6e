"""API routers. Each declares its full path (the version prefix included) so the
route template seen by middleware, logs and metrics is the real URL template."""

API_PREFIX = "/api/v1"
