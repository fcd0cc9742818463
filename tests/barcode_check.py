"""Reads an EAN-13 back from the bars of an SVG (python-barcode's drawing): the printed barcode
says the number it should, checked on the bars, not on the text printed under them."""

from __future__ import annotations

import re

# The left half's digits in odd (L) and even (G) parity, the right half's (R), as 7 modules each.
L_CODES = ["0001101", "0011001", "0010011", "0111101", "0100011", "0110001", "0101111", "0111011", "0110111",
           "0001011"]
G_CODES = ["".join("1" if b == "0" else "0" for b in code)[::-1] for code in L_CODES]
R_CODES = ["".join("1" if b == "0" else "0" for b in code) for code in L_CODES]
#: The first digit, from the parity pattern of the left half's six digits.
FIRST_DIGIT = ["LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG", "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL"]


def modules(svg: str) -> str:
    """The bars as a string of modules ('1' dark, '0' light), from the rectangles' x and width."""
    bars = [(float(x), float(w)) for x, w in re.findall(r'<rect x="([\d.]+)mm" y="[\d.]+mm" width="([\d.]+)mm"', svg)]
    dark = [bar for bar in bars if bar[1] > 0]
    dark = dark[1:] if dark and dark[0][0] == 0 else dark  # the background rectangle
    unit = min(w for _, w in dark)
    start = dark[0][0]
    length = round((dark[-1][0] + dark[-1][1] - start) / unit)
    pattern = ["0"] * length
    for x, w in dark:
        first = round((x - start) / unit)
        for module in range(first, first + round(w / unit)):
            pattern[module] = "1"
    return "".join(pattern)


def decode_ean13_svg(svg: str) -> str:
    """The 13 digits the SVG's bars encode; ValueError when they are not an EAN-13."""
    bits = modules(svg)
    if len(bits) != 95 or bits[:3] != "101" or bits[45:50] != "01010" or bits[-3:] != "101":
        raise ValueError(f"not an EAN-13 pattern ({len(bits)} modules)")
    left, right = bits[3:45], bits[50:92]
    digits, parity = [], ""
    for i in range(6):
        code = left[7 * i:7 * i + 7]
        if code in L_CODES:
            digits.append(L_CODES.index(code))
            parity += "L"
        elif code in G_CODES:
            digits.append(G_CODES.index(code))
            parity += "G"
        else:
            raise ValueError(f"left digit {i + 1} unreadable: {code}")
    for i in range(6):
        digits.append(R_CODES.index(right[7 * i:7 * i + 7]))
    return str(FIRST_DIGIT.index(parity)) + "".join(map(str, digits))
