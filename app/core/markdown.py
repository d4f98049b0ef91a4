"""Markdown typed by users, rendered to HTML that is safe to show to everyone."""

import nh3
from markdown_it import MarkdownIt

# Raw HTML in the source is escaped by the parser; nh3 then keeps only these tags and attributes,
# drops event handlers and refuses any link scheme but these.
_parser = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").enable("strikethrough")
ALLOWED_TAGS = {"p", "br", "strong", "em", "del", "ul", "ol", "li", "a", "blockquote", "code", "pre", "h2",
                "h3", "h4", "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"scope"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}


def _demote_headings(html: str, top_heading: int) -> str:
    """A body's headings sit under the page's own: `#` becomes h<top_heading>, `##` the next level."""
    shift = top_heading - 1
    for level in (2, 1):  # h2 first, so that an h1 just demoted is not demoted again
        html = html.replace(f"<h{level}>", f"<h{level + shift}>").replace(f"</h{level}>", f"</h{level + shift}>")
    return html


def render_markdown(text: str, *, top_heading: int = 3) -> str:
    """Safe HTML for `text`; headings start at h3, under a page's h1 and a section's h2, unless told."""
    html = _demote_headings(_parser.render(text or ""), top_heading)
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES,
                     link_rel="nofollow noopener noreferrer")
