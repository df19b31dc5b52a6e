"""Administration: configuration files, sessions, status, debug data and self-tests."""
