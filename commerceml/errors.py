"""Errors raised by the CommerceML reader and writer.

Every error the package raises is a :class:`CommerceMLError`; nothing else escapes the reader,
whatever bytes it is given. Errors carry *where* as data, so a 1C administrator can find the
problem in their own file::

    CommerceMLError                 .filename .line .path
     ├─ MalformedXML                not well-formed XML, a wrong encoding, a truncated file
     │   └─ ForbiddenXML            a DOCTYPE, an entity declaration, an external reference
     ├─ SchemaError                 well-formed, but not CommerceML we can read
     │   ├─ UnsupportedDocument     the root is not КоммерческаяИнформация
     │   ├─ MissingElement          a required element is absent (an offer without Ид)
     │   └─ InvalidValue            a number, date or flag that cannot be read
     └─ WriteError                  a model value cannot be written
"""

from __future__ import annotations

__all__ = [
    "CommerceMLError",
    "ForbiddenXML",
    "InvalidValue",
    "MalformedXML",
    "MissingElement",
    "SchemaError",
    "UnsupportedDocument",
    "WriteError",
]


class CommerceMLError(Exception):
    """Base of every error of the package.

    Args:
        message: what went wrong, in words an administrator understands.
        filename: the file being read, when known.
        line: 1-based line number of the offending element, when known.
        path: the element path from the root, e.g. ``Каталог/Товары/Товар[12]/Ид``.
    """

    def __init__(
        self,
        message: str,
        *,
        filename: str | None = None,
        line: int | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.filename = filename
        self.line = line
        self.path = path

    def located(self, filename: str | None) -> CommerceMLError:
        """Return self with the file name filled in (the reader learns it late)."""
        if self.filename is None:
            self.filename = filename
        return self

    def __str__(self) -> str:
        where = []
        if self.filename:
            where.append(self.filename)
        if self.line is not None:
            where.append(f"line {self.line}")
        text = self.message
        if self.path:
            text = f"{text} (at {self.path})"
        if where:
            text = f"{', '.join(where)}: {text}"
        return text


class MalformedXML(CommerceMLError):
    """The bytes are not well-formed XML in the declared encoding (or the file ends early)."""


class ForbiddenXML(MalformedXML):
    """The document uses a DOCTYPE, entity declarations or external references; we never resolve them."""


class SchemaError(CommerceMLError):
    """Well-formed XML that is not CommerceML we can read."""


class UnsupportedDocument(SchemaError):
    """The root element is not ``КоммерческаяИнформация``."""


class MissingElement(SchemaError):
    """A required element is absent."""


class InvalidValue(SchemaError):
    """A value (number, date, time, boolean) cannot be read; ``path`` names the element."""


class WriteError(CommerceMLError):
    """A model value cannot be written as CommerceML."""
