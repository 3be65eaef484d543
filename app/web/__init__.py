"""The web layer: routes parse the request, call one service, render a template."""
