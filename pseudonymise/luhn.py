"""The Luhn (mod-10) check digit, as used by Swedish personnummer and samordningsnummer.

For a personnummer the digits checked are the ten of the short form ``YYMMDDNNNC``: the
first nine carry the data and the tenth (``C``) is the check digit.
"""

from __future__ import annotations


def luhn_check_digit(payload: str) -> int:
    """The check digit that makes ``payload + digit`` Luhn-valid.

    ``payload`` is a string of decimal digits (for a personnummer, ``YYMMDDNNN``).
    """
    if not payload.isdigit() or not payload.isascii():
        raise ValueError("a Luhn payload must be a non-empty string of ASCII digits")
    total = 0
    # The rightmost payload digit is doubled, then every second digit leftwards.
    for position, char in enumerate(reversed(payload)):
        digit = ord(char) - 48
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def luhn_valid(digits: str) -> bool:
    """True when the last digit of ``digits`` is the Luhn check digit of the rest."""
    if len(digits) < 2 or not digits.isdigit() or not digits.isascii():
        return False
    return luhn_check_digit(digits[:-1]) == ord(digits[-1]) - 48
