"""Article bodies are plain text with a few conventions; rendered here with everything escaped."""

from django.utils.html import escape
from django.utils.safestring import mark_safe


def body_html(body: str) -> str:
    blocks, items, paragraph = [], [], []

    def flush():
        if paragraph:
            blocks.append("<p>" + "<br>".join(escape(line) for line in paragraph) + "</p>")
            paragraph.clear()
        if items:
            blocks.append("<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for line in (body or "").splitlines():
        stripped = line.strip()
        if not stripped:
            flush()
        elif stripped.startswith("## "):
            flush()
            blocks.append(f"<h2>{escape(stripped[3:])}</h2>")
        elif stripped.startswith(("- ", "* ")):
            if paragraph:
                flush()
            items.append(stripped[2:])
        else:
            if items:
                flush()
            paragraph.append(stripped)
    flush()
    return mark_safe("\n".join(blocks))  # noqa: S308 — every piece above is escaped
