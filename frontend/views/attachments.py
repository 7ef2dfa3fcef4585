from django.http import FileResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache

from frontend.views.common import console_page
from ticketing.selectors import attachments_visible


@console_page
@never_cache
def attachment_download(request, pk: int):
    """Always a download, never rendered by the browser: a file from a stranger
    must not run as a page of ours (octet-stream, nosniff, sandbox)."""
    attachment = get_object_or_404(attachments_visible(request.user), pk=pk)
    if not attachment.stored or not attachment.file:
        return _unavailable(request, attachment)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        return _unavailable(request, attachment)
    response = FileResponse(
        handle, as_attachment=True, filename=attachment.filename, content_type="application/octet-stream"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    return response


def _unavailable(request, attachment):
    return render(
        request,
        "frontend/attachment_unavailable.html",
        {"attachment": attachment, "ticket": attachment.message.ticket},
        status=404,
    )
