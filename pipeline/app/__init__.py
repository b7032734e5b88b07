"""The local web app (`followback app`): routes, templates and static files."""
