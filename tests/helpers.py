"""Reading pages the way a person does."""

import html


def text_of(response) -> str:
    """The page's HTML with entities decoded, so assertions quote the text as written."""
    return html.unescape(response.get_data(as_text=True))
