"""EAN-13 barcodes for membership cards and shopping lists."""

from __future__ import annotations

import re

#: GS1 prefix 29x is reserved for in-store numbering: our card numbers never clash with products.
CARD_PREFIX = "29"
#: Shopping lists take the in-store prefix 28: a list's number clashes with no product and no card.
LIST_PREFIX = "28"


def ean13_check_digit(first_twelve: str) -> str:
    """The EAN-13 check digit of a 12-digit string."""
    if len(first_twelve) != 12 or not first_twelve.isdigit():
        raise ValueError(f"an EAN-13 body is 12 digits, got {first_twelve!r}")
    weighted = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first_twelve))
    return str((10 - weighted % 10) % 10)


def is_valid_ean13(code: str) -> bool:
    """True when `code` is 13 digits with a correct check digit."""
    return len(code) == 13 and code.isdigit() and ean13_check_digit(code[:12]) == code[12]


def card_barcode(customer_id: int, sequence: int = 0) -> str:
    """The EAN-13 of a member's card: prefix 29, card sequence (0-9), customer number (9 digits)."""
    if not 0 <= sequence <= 9:
        raise ValueError("a member holds at most 10 generated card numbers")
    if not 0 <= customer_id < 10**9:
        raise ValueError(f"customer number {customer_id} does not fit a card barcode")
    body = f"{CARD_PREFIX}{sequence}{customer_id:09d}"
    return body + ean13_check_digit(body)


def list_barcode(serial: int) -> str:
    """The EAN-13 of the `serial`-th shopping list: prefix 28, ten digits of serial, check digit."""
    if not 0 < serial < 10**10:
        raise ValueError(f"list serial {serial} does not fit a list barcode")
    body = f"{LIST_PREFIX}{serial:010d}"
    return body + ean13_check_digit(body)


def ean13_svg(code: str, scalable: bool = False) -> str:
    """The EAN-13 `code` drawn as an SVG element (python-barcode), its number printed under the bars.
    `scalable`: with a viewBox and no fixed size, so it fills the width it is given (a phone's
    screen: the wider the bars, the surer the till's scanner reads them)."""
    from io import BytesIO

    from barcode import EAN13
    from barcode.writer import SVGWriter

    if not is_valid_ean13(code):
        raise ValueError(f"{code!r} is not a valid EAN-13")
    out = BytesIO()
    EAN13(code[:12], writer=SVGWriter()).write(out, options={"module_height": 12, "font_size": 8})
    svg = out.getvalue().decode("utf-8")
    svg = svg[svg.index("<svg"):]
    if scalable:
        size = re.match(r'<svg [^>]*width="([\d.]+)mm" height="([\d.]+)mm"', svg)
        width, height = (float(size.group(n)) * 96 / 25.4 for n in (1, 2))  # CSS pixels: what mm are drawn in
        svg = svg.replace(size.group(0), size.group(0).replace(f'width="{size.group(1)}mm" height="{size.group(2)}mm"',
                                                               f'viewBox="0 0 {width:.2f} {height:.2f}"'), 1)
    return svg
