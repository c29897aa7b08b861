"""The staff pages: login, the counter workstation and administration (HTML, cookie sessions)."""
