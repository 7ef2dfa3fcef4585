"""Which sites may embed a widget: its allowed origins, with `*` allowed for the port."""

from urllib.parse import urlsplit


def _parts(origin: str) -> tuple[str, str, str] | None:
    try:
        parsed = urlsplit(origin.strip().rstrip("/"))
        port = parsed.port
    except ValueError:
        if origin.strip().endswith(":*"):
            parsed = urlsplit(origin.strip()[:-2])
            return (parsed.scheme.lower(), (parsed.hostname or "").lower(), "*") if parsed.hostname else None
        return None
    if not parsed.scheme or not parsed.hostname:
        return None
    default = {"http": 80, "https": 443}.get(parsed.scheme.lower())
    return parsed.scheme.lower(), parsed.hostname.lower(), str(port or default or "")


def origin_allowed(origin: str, allowed: list[str]) -> bool:
    """True when `origin` (scheme://host[:port]) matches one of `allowed`; `*` as the port matches any port."""
    if not origin or origin == "null":
        return False
    actual = _parts(origin)
    if actual is None:
        return False
    for pattern in allowed or ():
        wanted = _parts(str(pattern))
        if wanted is None:
            continue
        if wanted[:2] == actual[:2] and wanted[2] in {"*", actual[2]}:
            return True
    return False
