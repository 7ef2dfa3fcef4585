"""Request body parsers that answer 400 to any body, however broken.

DRF's parsers turn ValueError into a 400, but a body nested a hundred thousand
levels deep (RecursionError), a made-up charset (LookupError) or a lone surrogate in
a string (UnicodeEncodeError when saved) would escape as a 500.
"""

from __future__ import annotations

import json

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
            # JSON may spell a lone surrogate ("\ud800"), which no database can store as UTF-8.
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except (RecursionError, LookupError, UnicodeEncodeError) as exc:
            raise ParseError(f"JSON parse error - {type(exc).__name__}") from None
        return data


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except (LookupError, UnicodeDecodeError) as exc:
            raise ParseError(f"Form parse error - {type(exc).__name__}") from None


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except (LookupError, UnicodeDecodeError, ValueError) as exc:
            raise ParseError(f"Multipart form parse error - {type(exc).__name__}") from None


# JSON, and the two form encodings curl and the browsable API send.
PARSER_CLASSES = [JSONParser, FormParser, MultiPartParser]
