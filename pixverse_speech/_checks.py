"""The argument checks shared across the package, and safe quoting of bad values in their errors."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["as_float", "check_int", "check_text", "shown"]


def shown(value: object, limit: int = 60, redact: Callable[[str], str] | None = None) -> str:
    """``repr(value)`` for an error message: shortened, and safe for any value.

    ``repr`` itself can fail (an integer of more than 4,300 digits, a list nested too deep) or be
    enormous; neither may cost the user the message that names their mistake.  ``redact`` masks
    secrets, before the cut: masked after it, a secret cut in two would show its first part.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"<an integer of {value.bit_length()} bits>"
    try:
        text = repr(redact(value) if redact is not None and isinstance(value, str) else value)
    except Exception:  # a broken __repr__ must not hide the real error
        return f"<{type(value).__name__} object>"
    if redact is not None:
        text = redact(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def as_float(name: str, value: int | float) -> float:
    """``float(value)``, with an integer too large for a float refused by name."""
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{name} is too large: {shown(value)}") from None


def check_text(name: str, value: object) -> str:
    """A required string that is not empty or blank."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name} must not be empty or blank, got {value!r}")
    return value


def check_int(name: str, value: object, *, minimum: int) -> int:
    """An integer (never a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {shown(value)}")
    return value
