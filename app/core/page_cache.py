"""Pages that are the same for every visitor whose session is empty (not signed in, no message waiting, the
default language) say so, and the proxy in front of the web processes keeps them VISITOR_PAGE_SECONDS for
every visitor (nginx reads X-Accel-Expires and never passes it on: deploy/nginx/agora.conf). The day results
are published, or a consultation opens, everyone reads the same pages at once: one cache in front, shared by
every web process, serves them without Python. A page may then be that many seconds behind the database,
for visitors only: nginx never answers a request that carries a session cookie from its cache, and never keeps
a response that sets one."""

from functools import wraps

from flask import current_app, make_response, session

PROXY_CACHE_HEADER = "X-Accel-Expires"


def same_for_visitors(view):
    """Decorate a view whose page, for a visitor with an empty session, depends only on its address."""
    @wraps(view)
    def page(*args, **kwargs):
        response = make_response(view(*args, **kwargs))
        seconds = current_app.config["VISITOR_PAGE_SECONDS"]
        if seconds and response.status_code == 200 and not session:
            response.headers[PROXY_CACHE_HEADER] = str(seconds)
        return response
    return page
