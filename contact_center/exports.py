"""Exports of records to CSV or Excel: scoped, bounded and audited, in one place.

Each app describes its columns as a django-import-export Resource (crm/exports.py,
ticketing/exports.py); `records_export` is the one path that turns a queryset into
a file, whoever asks (API, pages, admin).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from import_export.resources import ModelResource

from accounts.audit import audit_record
from accounts.models import AuditAction, User
from accounts.scope import scoped

MAX_ROWS = 50_000
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    content_type: str
    filename: str
    rows: int


def records_export(
    *,
    user: User,
    queryset: QuerySet,
    resource: ModelResource,
    permission: str,
    file_format: str = "csv",
    filters: dict | None = None,
    ip: str | None = None,
) -> ExportFile:
    if not user.has_perm(permission):
        raise PermissionDenied(_("You may not export these records."))
    if file_format not in FORMATS:
        raise ValidationError({"file": [_("Choose csv or xlsx.")]})
    queryset = scoped(user, queryset)  # whatever the caller passed, never more than the user may see
    rows = queryset.count()
    if rows > MAX_ROWS:
        raise ValidationError(
            {
                "file": [
                    _("%(rows)d rows is too many for one export (at most %(max)d): narrow the filters.")
                    % {"rows": rows, "max": MAX_ROWS}
                ]
            }
        )
    dataset = resource.export(queryset=queryset)
    if file_format == "csv":
        # With a byte-order mark Excel opens UTF-8 (Chinese) text correctly.
        content = dataset.export("csv").encode("utf-8-sig")
    else:
        content = dataset.export("xlsx")
    model = queryset.model._meta
    audit_record(
        actor=user,
        action=AuditAction.EXPORT,
        detail={"model": model.label_lower, "rows": rows, "format": file_format, "filters": filters or {}},
        ip=ip,
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return ExportFile(
        content=content,
        content_type=FORMATS[file_format],
        filename=f"{model.model_name}-{stamp}.{file_format}",
        rows=rows,
    )
