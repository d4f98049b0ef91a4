"""Charts drawn on the server as SVG images (no JavaScript): horizontal bars, columns over time, and a map of
France by département (a tile-grid cartogram, app/core/france_grid.py).

Each chart is an `<svg role="img">` named by its `<title>` and `<desc>`; the page shows the same figures in
a data table below it (`Chart.rows`), which is what assistive technologies read. Colours are presentation
attributes, which the strict Content-Security-Policy allows (no style attribute, no `<style>`); the classes
let agora.css follow the DSFR's light and dark themes. On the map a number in each tile says what its
colour says, and the legend names each class's range: nothing rests on colour alone.
"""

import functools
import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass

from babel.numbers import format_decimal
from flask_babel import get_locale, gettext as _
from markupsafe import Markup, escape

from app.core.france_grid import COLUMNS, DEPARTEMENTS, OVERSEAS_FIRST_ROW, ROWS

WIDTH = 720  # viewBox units; the image scales to its container
TEXT_COLOUR, MUTED_COLOUR, BAR_COLOUR = "#161616", "#666666", "#000091"
# A bar of each series when a chart has several, with its class (agora.css gives the dark theme's colour).
SERIES = ((BAR_COLOUR, "agora-chart__bar"), ("#006a6f", "agora-chart__bar agora-chart__bar--second"))
LABEL_MAX = 70  # characters of a bar's label drawn in the image; the table gives them whole


@dataclass(frozen=True)
class Chart:
    """A chart and its data table: `headers` name the table's columns, each row starts with its header cell."""

    key: str  # unique on the page: the ids of the image's title and description derive from it
    title: str
    description: str
    headers: tuple[str, ...]
    rows: list[tuple]
    svg: Markup

    @property
    def is_empty(self) -> bool:
        return not any(any(row[1:]) for row in self.rows)

    @property
    def cells(self) -> list[tuple[str, ...]]:
        """The table's rows as shown: each label with its numbers written out."""
        return [(label, *map(_number, values)) for label, *values in self.rows]


def _number(value: int) -> str:
    return _grouped(value, str(get_locale()))


@functools.lru_cache(maxsize=4096)
def _grouped(value: int, locale: str) -> str:
    """An integer with its digits grouped as `locale` writes them: a map writes hundreds of them, and Babel
    takes a tenth of a millisecond for each."""
    return format_decimal(value, locale=locale)


def _attributes(values: dict) -> str:
    """SVG attributes, escaped; a trailing underscore is dropped (class_) and other underscores become dashes."""
    return "".join(f' {name.rstrip("_").replace("_", "-")}="{escape(value)}"'
                   for name, value in values.items() if value is not None)


def _element(name: str, content: str | Markup = "", **attributes) -> Markup:
    """An element whose text `content` is escaped (unless already Markup). Strings are joined rather than
    formatted through Markup: a map has hundreds of elements, and Markup.format costs ten times more."""
    return Markup(f"<{name}{_attributes(attributes)}>{escape(content)}</{name}>")


def _svg(key: str, title: str, description: str, height: float, body: Iterable[Markup], width: int = WIDTH) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="agora-chart" '
        f'viewBox="0 0 {width} {math.ceil(height)}" aria-labelledby="{key}-titre {key}-desc" '
        f'font-family="Marianne, arial, sans-serif" font-size="14">'
        f'<title id="{key}-titre">{escape(title)}</title><desc id="{key}-desc">{escape(description)}</desc>'
        f'{"".join(body)}</svg>')


def _shortened(label: str, limit: int = LABEL_MAX) -> str:
    return label if len(label) <= limit else label[:limit - 1].rstrip() + "…"


def _drawn_once(build):
    """`build`, drawn once per process for the same figures in the same language: every visitor of a results
    or statistics page sees the same charts, and a map is hundreds of elements. The figures are the key, so
    a chart is never stale: new figures draw a new one."""
    @functools.lru_cache(maxsize=256)
    def drawn(_locale: str, key: str, title: str, description: str, data, headers: tuple) -> Chart:
        return build(key, title, description, dict(data) if isinstance(data, frozenset) else list(data),
                     headers=headers)

    @functools.wraps(build)
    def chart(key: str, title: str, description: str, data, *, headers) -> Chart:
        frozen = frozenset(data.items()) if isinstance(data, dict) else tuple(map(tuple, data))
        return drawn(str(get_locale()), key, title, description, frozen, tuple(headers))
    return chart


@_drawn_once
def bar_chart(key: str, title: str, description: str, data: list[tuple], *, headers: tuple[str, ...]) -> Chart:
    """Horizontal bars, a group per row (label, value, …) in the given order: each label above its bars, each value
    after its bar (named by its column's header when a row has several), the longest bar spanning the width left
    by the largest value."""
    bar_height, bar_gap, value_room = 18, 4, 90
    several = len(headers) > 2
    if several:
        value_room = 90 + 8 * max(len(header) for header in headers[1:])
    row_height = 28 + (len(headers) - 1) * (bar_height + bar_gap) - bar_gap
    largest = max((value for row in data for value in row[1:]), default=0)
    body = []
    for index, (label, *values) in enumerate(data):
        top = index * row_height
        body.append(_element("text", _shortened(label), x=0, y=top + 15, fill=TEXT_COLOUR,
                             class_="agora-chart__text"))
        for position, value in enumerate(values):
            bar_top = top + 22 + position * (bar_height + bar_gap)
            length = (WIDTH - value_room) * value / largest if largest else 0
            fill, class_ = SERIES[position % len(SERIES)]
            if value:
                body.append(_element("rect", x=0, y=bar_top, width=f"{max(length, 2):.1f}", height=bar_height,
                                     fill=fill, class_=class_))
            text = _("%(name)s : %(value)s", name=headers[position + 1], value=_number(value)) if several \
                else _number(value)
            body.append(_element("text", text, x=f"{length + 6:.1f}", y=bar_top + 14, fill=TEXT_COLOUR,
                                 font_weight="bold", class_="agora-chart__text"))
    return Chart(key, title, description, headers, list(data),
                 _svg(key, title, description, max(len(data) * row_height, row_height), body))


def _tick_step(largest: int, ticks: int = 4) -> int:
    """A round step (1, 2 or 5 times a power of ten) giving at most `ticks` steps up to `largest`."""
    power = 1
    while True:
        for factor in (1, 2, 5):
            if factor * power * ticks >= largest:
                return factor * power
        power *= 10


@_drawn_once
def time_chart(key: str, title: str, description: str, data: list[tuple[str, str, int]], *,
               headers: tuple[str, str, str]) -> Chart:
    """Columns over time, one per period (label, short label for the axis, value) in order, on a scale with
    round steps; each value written above its column when there is room, and in the column's tooltip. The
    table gives each period's value and the running total (the third header)."""
    axis_room, right_room, plot_top, plot_height, label_room = 56, 24, 22, 220, 30  # room for the texts
    values = [value for _label, _short, value in data]
    slot = (WIDTH - axis_room - right_room) / max(len(data), 1)
    step = _tick_step(max(values, default=0) or 1)
    top_value = step * max(1, math.ceil(max(values, default=0) / step))
    baseline = plot_top + plot_height
    body = []
    for tick in range(0, top_value + 1, step):
        y = baseline - plot_height * tick / top_value
        body.append(_element("line", x1=axis_room - 4, x2=WIDTH - right_room, y1=f"{y:.1f}", y2=f"{y:.1f}",
                             stroke=MUTED_COLOUR, stroke_width="1" if tick == 0 else "0.5",
                             class_="agora-chart__frame"))
        body.append(_element("text", _number(tick), x=axis_room - 8, y=f"{y + 5:.1f}", text_anchor="end",
                             font_size="12", fill=TEXT_COLOUR, class_="agora-chart__text"))
    every = math.ceil(60 / slot)  # axis labels about 60 units apart
    for index, (label, short, value) in enumerate(data):
        x, height = axis_room + index * slot, plot_height * value / top_value
        centre = x + slot / 2
        column = [_element("title", f"{label} : {_number(value)}")]
        if value:
            column.append(_element("rect", x=f"{x + slot * 0.15:.1f}", y=f"{baseline - height:.1f}",
                                   width=f"{slot * 0.7:.1f}", height=f"{height:.1f}", fill=BAR_COLOUR,
                                   class_="agora-chart__bar"))
        if slot >= 28:
            column.append(_element("text", _number(value), x=f"{centre:.1f}", y=f"{baseline - height - 4:.1f}",
                                   text_anchor="middle", font_size="12", font_weight="bold", fill=TEXT_COLOUR,
                                   class_="agora-chart__text"))
        body.append(Markup("<g>{}</g>".format("".join(column))))
        if index % every == 0:
            body.append(_element("text", short, x=f"{centre:.1f}", y=baseline + 20, text_anchor="middle",
                                 font_size="12", fill=TEXT_COLOUR, class_="agora-chart__text"))
    rows = list(zip([label for label, _short, _value in data], values, itertools.accumulate(values)))
    return Chart(key, title, description, headers, rows,
                 _svg(key, title, description, baseline + label_room, body))


# The map's classes, lightest first, with the colour of the text drawn over each (contrast of 4.5 at least).
EMPTY_FILL = ("#f6f6f6", "#161616")
CLASS_FILLS = (("#e3e3fd", "#161616"), ("#a1a1f8", "#161616"), ("#4747e4", "#ffffff"), ("#000091", "#ffffff"))


def classes(values: Iterable[int], count: int = len(CLASS_FILLS)) -> list[tuple[int, int]]:
    """At most `count` ranges (lowest, highest) covering the positive values, each taking about its share of
    the values left by the previous ones (quantiles that stay apart when many values are equal)."""
    remaining = sorted(value for value in values if value > 0)
    ranges, low = [], remaining[0] if remaining else 0
    for left in range(count, 0, -1):
        if not remaining:
            break
        high = remaining[math.ceil(len(remaining) / left) - 1]
        ranges.append((low, high))
        remaining, low = [value for value in remaining if value > high], high + 1
    return ranges


def _class_of(value: int, ranges: list[tuple[int, int]]) -> tuple[str, str]:
    for index, (_low, high) in enumerate(ranges):
        if value <= high:
            return CLASS_FILLS[index] if value else EMPTY_FILL
    return EMPTY_FILL


def _range_label(low: int, high: int) -> str:
    return _number(low) if low == high else _("%(low)s à %(high)s", low=_number(low), high=_number(high))


@_drawn_once
def departement_map(key: str, title: str, description: str, counts: dict[str | None, int], *,
                    headers: tuple[str, str]) -> Chart:
    """France by département, each tile coloured by the class of its count and showing its code and count,
    with a legend of the classes. The table lists the départements with a count, largest first; counts of
    codes the map does not know (or of no département) are in the table only."""
    tile, gap, margin, legend_width = 44, 3, 6, 190
    ranges = classes(value for code, value in counts.items() if code in DEPARTEMENTS)  # what the tiles show
    body = []
    for code, (name, column, row) in DEPARTEMENTS.items():
        value = counts.get(code, 0)
        fill, ink = _class_of(value, ranges)
        x, y = margin + column * tile, margin + row * tile
        body.append(Markup("<g>{}{}{}{}</g>".format(
            _element("title", f"{name} ({code}) : {_number(value)}"),
            _element("rect", x=x, y=y, width=tile - gap, height=tile - gap, fill=fill, stroke="#929292",
                     stroke_width="0.5"),
            _element("text", code, x=x + 4, y=y + 13, font_size="11", fill=ink),
            _element("text", _number(value), x=x + tile - gap - 4, y=y + tile - gap - 6, font_size="13",
                     font_weight="bold", text_anchor="end", fill=ink))))
    inset_top = margin + OVERSEAS_FIRST_ROW * tile - 5
    body.append(_element("rect", x=margin - 5, y=inset_top, width=7 * tile + 5,
                         height=(ROWS - OVERSEAS_FIRST_ROW) * tile + 9, fill="none", stroke=MUTED_COLOUR,
                         stroke_dasharray="4 3", class_="agora-chart__frame"))
    body.append(_element("text", _("Outre-mer"), x=margin, y=inset_top - 8, fill=TEXT_COLOUR,
                         class_="agora-chart__text"))
    body.extend(_legend(ranges, margin + COLUMNS * tile + 16, margin))
    rows = sorted(((_departement_label(code), value) for code, value in counts.items() if value),
                  key=lambda row: (-row[1], row[0]))
    return Chart(key, title, description, headers, rows,
                 _svg(key, title, description, 2 * margin + ROWS * tile + 4, body,
                      width=margin + COLUMNS * tile + 16 + legend_width))


def _legend(ranges: list[tuple[int, int]], left: int, top: int) -> list[Markup]:
    """A swatch per class, with its range written beside it."""
    body = [_element("text", _("Légende"), x=left, y=top + 14, font_weight="bold", fill=TEXT_COLOUR,
                     class_="agora-chart__text")]
    entries = [(EMPTY_FILL, _number(0))] + [(CLASS_FILLS[index], _range_label(low, high))
                                             for index, (low, high) in enumerate(ranges)]
    for index, ((fill, _ink), label) in enumerate(entries):
        y = top + 28 + index * 30
        body.append(_element("rect", x=left, y=y, width=22, height=22, fill=fill, stroke="#929292",
                             stroke_width="0.5"))
        body.append(_element("text", label, x=left + 30, y=y + 16, fill=TEXT_COLOUR, class_="agora-chart__text"))
    return body


def _departement_label(code: str | None) -> str:
    if code is None:
        return _("Sans département")
    name = DEPARTEMENTS.get(code, (None,))[0]
    return f"{name} ({code})" if name else code
