"""Pages that are the same for every visitor whose session is empty (not signed in, no message waiting, the
default language), kept ready a few seconds in each web process: the day results are published, everyone
reads the same pages at once, and they are the most costly to make (charts, maps, national figures). Anyone
whose session holds something always gets a page made for them. VISITOR_PAGE_SECONDS sets how long (0: never
kept); a page may then be that many seconds behind the database, for visitors only."""

import threading
import time
from collections import OrderedDict
from functools import wraps

from flask import current_app, make_response, request, session

MAX_PAGES = 256  # by address: each page of the ranking, each filter, is a page of its own
_pages: OrderedDict[str, tuple[float, bytes, str]] = OrderedDict()
_lock = threading.Lock()  # threaded workers share the pages


def same_for_visitors(view):
    """Decorate a view whose page, for a visitor with an empty session, depends only on its address."""
    @wraps(view)
    def page(*args, **kwargs):
        seconds = current_app.config["VISITOR_PAGE_SECONDS"]
        if not seconds or session:
            return view(*args, **kwargs)
        key = request.full_path
        with _lock:
            kept = _pages.get(key)
        if kept is not None and kept[0] > time.monotonic():
            return current_app.response_class(kept[1], content_type=kept[2])
        response = make_response(view(*args, **kwargs))
        if response.status_code == 200 and not session and not response.is_streamed:
            with _lock:
                _pages[key] = (time.monotonic() + seconds, response.get_data(), response.content_type)
                _pages.move_to_end(key)
                while len(_pages) > MAX_PAGES:
                    _pages.popitem(last=False)
        return response
    return page
