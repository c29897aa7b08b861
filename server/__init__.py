"""NextUp server: the queue engine on Redis and its HTTP API.

Exceptions (see ``server.errors``)::

    NextUpError
     ├── ConfigError            the branch configuration file is invalid
     ├── EmbeddedRedisError     the embedded redis-server could not start
     └── ApiError               an HTTP request is refused (carries status and code)
"""
