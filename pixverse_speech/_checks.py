"""Small pieces shared by every argument check: safe conversions and safe quoting of bad values."""

from __future__ import annotations

__all__ = ["as_float", "shown"]


def shown(value: object, limit: int = 60) -> str:
    """``repr(value)`` for an error message: shortened, and safe for any value.

    ``repr`` itself can fail (an integer of more than 4,300 digits) or be enormous; neither may
    cost the user the message that names their mistake.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"<an integer of {value.bit_length()} bits>"
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ must not hide the real error
        return f"<{type(value).__name__} object>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def as_float(name: str, value: int | float) -> float:
    """``float(value)``, with an integer too large for a float refused by name."""
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{name} is too large: {shown(value)}") from None
