"""WDA's error strings and HTTP codes (Routing/FBCommandStatus.m, v16.7.0).

facebook-wda maps errors from the JSON body only (reference/wda.md §1.3), so the strings must be
exact; the HTTP codes are kept faithful anyway.
"""

from __future__ import annotations

STATUS: dict[str, int] = {
    "invalid session id": 404,
    "unknown command": 404,
    "no such element": 404,
    "stale element reference": 404,
    "no such alert": 404,
    "invalid argument": 400,
    "invalid element state": 400,
    "invalid selector": 400,
    "element not visible": 400,
    "invalid coordinates": 400,
    "unknown error": 500,
    "session not created": 500,
    "unsupported operation": 500,
    "unexpected alert open": 500,
    "unable to capture screen": 500,
    "timeout": 408,
    "unknown method": 405,
}

NO_ALERT = "An attempt was made to operate on a modal dialog when one was not open"
NO_SESSION = "Session does not exist"


class WdaError(Exception):
    """An error WDA answers with ``{"value": {"error", "message", "traceback"}}``."""

    def __init__(self, error: str, message: str) -> None:
        if error not in STATUS:
            raise ValueError(f"not a WDA error string: {error!r}")
        super().__init__(f"{error}: {message}")
        self.error = error
        self.message = message

    @property
    def http_status(self) -> int:
        return STATUS[self.error]


def no_alert() -> WdaError:
    return WdaError("no such alert", NO_ALERT)


def stale(uuid: str) -> WdaError:
    return WdaError(
        "stale element reference",
        f'The previously found element "{uuid}" is not present in the current view anymore. '
        "Make sure the application UI has the expected state. Original error: "
        "No matches found for first query match sequence from input {(\n)}",
    )


def invalid_argument(message: str) -> WdaError:
    return WdaError("invalid argument", message)
