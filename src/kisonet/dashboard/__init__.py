"""``kisonet dashboard``: runs, live learning curves and a playground in the browser.

Needs the optional web stack: ``pip install "kisonet[web]"`` (Flask).  The server is
:func:`kisonet.dashboard.server.create_app`; the page is static HTML, JavaScript and CSS in
``kisonet/dashboard/static`` (no build step, no JavaScript library, works offline).
"""

__all__ = ["create_app", "make_server"]


def __getattr__(name: str):  # Flask is imported only when the dashboard is used
    if name in __all__:
        from . import server

        return getattr(server, name)
    raise AttributeError(name)
