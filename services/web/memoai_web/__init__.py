"""memoai_web: the browser app, served by its own process; talks to the API over HTTP only."""
