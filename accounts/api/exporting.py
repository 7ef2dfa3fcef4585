"""`GET <list>/export/?file=csv|xlsx`: the list's filters, as a file (scoped, audited)."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request

from accounts.audit import client_ip
from contact_center.exports import FORMATS, records_export


class ExportActionMixin:
    """Adds the `export` action to a list viewset. Set `export_resource` and
    `export_permission`; name `export` in `action_perms` with the view permission."""

    export_resource = None
    export_permission = ""

    @extend_schema(
        summary="Export the filtered list as CSV (UTF-8 with BOM) or Excel; at most 50,000 rows; audited",
        parameters=[OpenApiParameter("file", str, enum=list(FORMATS), description="csv (default) or xlsx")],
        responses={
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, FORMATS["xlsx"]): OpenApiTypes.BINARY,
            400: OpenApiResponse(description="Unknown file format, or too many rows."),
            403: OpenApiResponse(description="Your role may not export these records."),
        },
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def export(self, request: Request) -> HttpResponse:
        exported = records_export(
            user=request.user,
            queryset=self.filter_queryset(self.get_queryset()),
            resource=self.export_resource(),
            permission=self.export_permission,
            file_format=request.query_params.get("file", "csv"),
            filters={key: request.query_params.getlist(key) for key in request.query_params if key != "file"},
            ip=client_ip(request),
        )
        response = HttpResponse(exported.content, content_type=exported.content_type)
        response["Content-Disposition"] = f'attachment; filename="{exported.filename}"'
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "no-store"
        return response
