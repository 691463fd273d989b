"""Zone 0: the only code that interprets raw identifiers or holds key material.

Modules
- ``luhn``: the Luhn (mod-10) check digit used by Swedish personnummer.

Keyed hashing, key files and national-ID validation live here too (see
docs/explanation/architecture.md). Nothing outside this package may read a key.
"""

from pseudonymise.luhn import luhn_check_digit, luhn_valid

__all__ = ["luhn_check_digit", "luhn_valid"]
