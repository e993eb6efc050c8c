"""The API's routers, one module per feature slice (auth, agent, supervisor, admin, events)."""
