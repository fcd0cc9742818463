"""EAN-13 barcodes for membership cards."""

from __future__ import annotations

#: GS1 prefix 29x is reserved for in-store numbering: our card numbers never clash with products.
CARD_PREFIX = "29"


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
