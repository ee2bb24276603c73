"""The agent workspace and the supervisor page: server-rendered pages and htmx fragments."""
