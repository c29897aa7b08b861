"""The lobby display page: its Jinja2 templates and static JavaScript and CSS (served by ``server.display_ws``)."""
