"""Which ticket status may follow which. Pure; the services enforce it."""

NEW, OPEN, PENDING, ON_HOLD, SOLVED, CLOSED = "new", "open", "pending", "on_hold", "solved", "closed"

ALLOWED: dict[str, frozenset[str]] = {
    NEW: frozenset({OPEN, PENDING, ON_HOLD, SOLVED, CLOSED}),
    OPEN: frozenset({PENDING, ON_HOLD, SOLVED, CLOSED}),
    PENDING: frozenset({OPEN, ON_HOLD, SOLVED, CLOSED}),
    ON_HOLD: frozenset({OPEN, PENDING, SOLVED, CLOSED}),
    # A solved ticket may be reopened until it is closed; closed is final
    # (a customer writing again gets a follow-up ticket).
    SOLVED: frozenset({OPEN, CLOSED}),
    CLOSED: frozenset(),
}


def can_transition(current: str, new: str) -> bool:
    return new in ALLOWED.get(current, frozenset())
