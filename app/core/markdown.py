"""Markdown typed by users, rendered to HTML that is safe to show to everyone; HTML from elsewhere read as
Markdown."""

from html.parser import HTMLParser

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


# Elements whose content is never shown as text: their words are dropped with them.
_UNSHOWN = {"script", "style", "template", "noscript", "iframe", "object", "svg", "math", "head", "title"}
# Elements that end a block of text: each block becomes a paragraph (or a list item) of Markdown.
_BLOCKS = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "hr",
           "table", "tr", "section", "article", "header", "footer"}
_BULLET = "- "


class _MarkdownWriter(HTMLParser):
    """Collects the text of an HTML fragment block by block, with list items and links as Markdown
    unless `plain`."""

    def __init__(self, plain: bool = False):
        super().__init__(convert_charrefs=True)
        self.plain = plain
        self.blocks: list[str] = []
        self.words: list[str] = []
        self.unshown = 0
        self.link: tuple[str, int] | None = None  # the href, and where the link's words start

    def handle_starttag(self, tag, attrs):
        if tag in _UNSHOWN:
            self.unshown += 1
        elif tag in _BLOCKS:
            self.end_block()
            if tag == "li" and not self.plain:
                self.words = [_BULLET]
        elif tag == "a" and not self.plain:
            self.link = (dict(attrs).get("href") or "", len(self.words))
        elif tag in ("td", "th"):
            self.words.append(" ")

    def handle_endtag(self, tag):
        if tag in _UNSHOWN:
            self.unshown = max(self.unshown - 1, 0)
        elif tag in _BLOCKS:
            self.end_block()
        elif tag == "a" and self.link is not None:
            href, start = self.link
            self.words[start:] = [_markdown_link("".join(self.words[start:]), href)]
            self.link = None

    def handle_data(self, data):
        if self.unshown:
            return
        # Plain-text bodies (most exports) mark paragraphs and list items by line breaks alone.
        first, *others = data.splitlines() or [""]
        self.words.append(first)
        for line in others:
            self.end_block()
            self.words.append(line)

    def end_block(self):
        text = " ".join("".join(self.words).split())
        if text == _BULLET.strip():  # a list item whose text comes in a paragraph of its own
            self.words = [_BULLET]
            return
        if text:
            self.blocks.append(text)
        self.words, self.link = [], None


def _markdown_link(text: str, href: str) -> str:
    """A link of a scheme our pages accept, else its words alone (Markdown would show the refused link
    as typed)."""
    text = " ".join(text.split())
    scheme, colon, _rest = href.partition(":")
    if not (text and colon and scheme.lower() in URL_SCHEMES) or href == text or any(c in href for c in "<>\n"):
        return text
    label = text.replace("[", r"\[").replace("]", r"\]")
    return f"[{label}](<{href}>)"


def _blocks(html: str, *, plain: bool) -> list[str]:
    writer = _MarkdownWriter(plain)
    writer.feed(html or "")
    writer.close()
    writer.end_block()
    return writer.blocks


def html_to_text(html: str) -> str:
    """The words of an HTML fragment on one line, without what scripts and styles hold."""
    return " ".join(_blocks(html, plain=True))


def html_to_markdown(html: str) -> str:
    """Text written as HTML elsewhere (Decidim's bodies) as the Markdown our proposals are written in.

    Only words, paragraphs, list items and links survive: no tag reaches a page from here, and what
    scripts and styles hold is dropped. Emphasis is dropped too, since marks around words whose spacing
    HTML decided often read as something else in Markdown. Ordered lists become bulleted ones.
    """
    blocks = _blocks(html, plain=False)
    text = ""
    for previous, block in zip([None, *blocks], blocks):
        # Items that follow each other stay one tight list; anything else is a paragraph of its own.
        together = previous is not None and previous.startswith(_BULLET) and block.startswith(_BULLET)
        text += ("\n" if together else "\n\n" if previous is not None else "") + block
    return text
