"""Form bodies (multipart/form-data and urlencoded), read with the standard library.

The SDK creates a dataset with a multipart form (protocol.md §21.1: `files={k: (None, str(v))}`, one
small text part per field). Starlette parses multipart only with the optional `python-multipart`
package; a few text fields do not need it: the stdlib's MIME parser reads them.
"""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from urllib.parse import parse_qsl

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
# A part that carries a file name is a file upload (no official client sends one here): its field is
# reported by this marker, never by its bytes.
FILE_PART = "<file>"


def parse_form(content_type: str, body: bytes) -> dict[str, str] | None:
    """The fields of a form body by name (the last value of a repeated field), or None when `body` is not
    a form of `content_type`.

    Example:
        >>> body = b'--b\\r\\nContent-Disposition: form-data; name="Owner"\\r\\n\\r\\nalice\\r\\n--b--\\r\\n'
        >>> parse_form("multipart/form-data; boundary=b", body)
        {'Owner': 'alice'}
        >>> parse_form("application/x-www-form-urlencoded", b"Name=x&Visibility=5")
        {'Name': 'x', 'Visibility': '5'}
    """
    media_type = content_type.split(";")[0].strip().lower()
    try:
        if media_type == "application/x-www-form-urlencoded":
            return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body)))
        if media_type != "multipart/form-data":
            return None
        head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
        message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    except (UnicodeError, ValueError):
        return None
    if not message.is_multipart() or message.defects:
        return None
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or part.get_content_disposition() != "form-data":
            return None
        if part.get_filename() is not None:
            fields[name] = FILE_PART
            continue
        payload = part.get_payload(decode=True)
        try:
            fields[name] = payload.decode(part.get_content_charset() or "utf-8") if payload else ""
        except (LookupError, UnicodeError):
            return None
    return fields
