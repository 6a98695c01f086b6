"""Errors the domain raises when a rule or a state forbids an action."""


class RuleViolation(ValueError):
    """Input breaks a booking rule; names the offending field and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class StateConflict(Exception):
    """The action is not allowed in the resource's current state."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
