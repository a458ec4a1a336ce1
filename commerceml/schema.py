"""Validate a CommerceML file against the official XSD of the version it declares (xmlschema).

Integrators use this to tell a broken 1C export from a bug of ours. The official schemas come
from 1C and are not shipped with the project: they are looked up in a schema directory
(``--schema-dir``, else ``CML_SCHEMA_DIR``, else ``<repo>/../shared/fixtures/real`` when it
exists), scanned recursively; every ``*.xsd`` file is identified by the ``version`` attribute of
its ``schema`` element, never by its name. When two files declare the same version, the first in
path order is used.

Two deliberate adjustments, both reported as notes in the result (never silently):

* **The 2.05 schema's namespace.** The official 2.05 XSD declares
  ``targetNamespace="urn:1C.ru:commerceml 2"``, with a space: not a valid URI, and lxml refuses
  it. A target namespace containing whitespace is loaded with the whitespace replaced by ``_``
  (``urn:1C.ru:commerceml_2``, the namespace every later version uses).
* **Documents outside the schema's namespace.** Many real files declare no namespace (2.03–2.07
  exports), or ``urn:1C.ru:commerceml_210`` / ``commerceml_208`` while claiming 2.08. Such a
  document is validated as if its elements were in the schema's target namespace: every element
  in the document's own namespace (or in none) is mapped into it before validation, and the note
  says so. Line numbers and paths still refer to the file as written.

The document is parsed into memory (hardened: no DTD, no entities, no network), so validating a
file needs several times its size in RAM; it is meant for real exchange files, not for the
benchmark's generated 200 MB catalogs.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import xmlschema
from lxml import etree

from commerceml.errors import (
    CommerceMLError,
    ForbiddenXML,
    MalformedXML,
    SchemaError,
    UnsupportedDocument,
)

__all__ = [
    "SCHEMA_DIR_ENV",
    "SchemaFile",
    "SchemaNotFound",
    "ValidationResult",
    "Violation",
    "assert_valid_orders_document",
    "default_schema_dir",
    "find_schemas",
    "validate",
    "validate_file",
]

SCHEMA_DIR_ENV: Final = "CML_SCHEMA_DIR"
ROOT: Final = "КоммерческаяИнформация"
VERSION_ATTRIBUTE: Final = "ВерсияСхемы"
_SCHEMA_TAG = re.compile(r"<(?:[\w.-]+:)?schema\b([^>]*)>", re.DOTALL)
_MAPPED_PREFIX = re.compile(r"(?<![\w.-])ns\d+:")  # lxml's prefix for the mapped namespace
_ATTRIBUTE = re.compile(r"([\w.:-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")


class SchemaNotFound(CommerceMLError):
    """No schema directory, or no official XSD there for the document's version."""


@dataclass(frozen=True, slots=True)
class Violation:
    """One place where the document breaks its schema."""

    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "line ?"
        return f"{where}: {self.path}: {self.message}"


@dataclass(frozen=True, slots=True)
class SchemaFile:
    """An official XSD found in the schema directory."""

    version: str
    path: Path
    target_namespace: str


@dataclass(frozen=True, slots=True)
class ValidationResult:
    source: str
    schema_version: str
    document_namespace: str
    schema: SchemaFile
    notes: tuple[str, ...]
    violations: tuple[Violation, ...]

    @property
    def valid(self) -> bool:
        return not self.violations


def default_schema_dir() -> Path | None:
    """``CML_SCHEMA_DIR``, else ``../shared/fixtures/real`` next to the repository, else None."""
    configured = os.environ.get(SCHEMA_DIR_ENV)
    if configured:
        return Path(configured)
    candidate = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "real"
    return candidate if candidate.is_dir() else None


def find_schemas(schema_dir: str | os.PathLike[str]) -> dict[str, SchemaFile]:
    """Every CommerceML XSD under ``schema_dir`` by version (the first in path order wins)."""
    root = Path(schema_dir)
    if not root.is_dir():
        raise SchemaNotFound(f"schema directory {root} does not exist")
    found: dict[str, SchemaFile] = {}
    for path in sorted(p for p in root.rglob("*") if p.suffix.lower() == ".xsd" and p.is_file()):
        head = path.read_bytes()[:8192].decode("utf-8-sig", errors="replace")
        match = _SCHEMA_TAG.search(head)
        if match is None:
            continue
        attributes = {
            m.group(1): m.group(2) if m.group(2) is not None else m.group(3)
            for m in _ATTRIBUTE.finditer(match.group(1))
        }
        version = attributes.get("version", "").strip()
        if version and version not in found:
            found[version] = SchemaFile(version, path, attributes.get("targetNamespace", ""))
    return found


def corrected_namespace(namespace: str) -> str:
    """The 2.05 XSD's ``urn:1C.ru:commerceml 2`` -> ``urn:1C.ru:commerceml_2`` (whitespace -> ``_``)."""
    return re.sub(r"\s+", "_", namespace.strip())


@functools.lru_cache(maxsize=16)
def _load(path: Path, mtime_ns: int) -> tuple[Any, tuple[str, ...]]:
    del mtime_ns  # part of the cache key only
    text = path.read_bytes().decode("utf-8-sig")
    match = _SCHEMA_TAG.search(text)
    namespace = ""
    if match is not None:
        for m in _ATTRIBUTE.finditer(match.group(1)):
            if m.group(1) == "targetNamespace":
                namespace = m.group(2) if m.group(2) is not None else m.group(3)
    notes: tuple[str, ...] = ()
    fixed = corrected_namespace(namespace)
    if fixed != namespace:
        text = text.replace(f'"{namespace}"', f'"{fixed}"').replace(f"'{namespace}'", f"'{fixed}'")
        notes = (
            f"schema {path.name} declares targetNamespace {namespace!r}, which is not a valid URI "
            f"(lxml refuses it); it was loaded with the namespace corrected to {fixed!r}",
        )
    schema = xmlschema.XMLSchema10(text, base_url=str(path.parent))
    return schema, notes


def load_schema(schema_file: SchemaFile) -> tuple[Any, tuple[str, ...]]:
    """The compiled schema (cached per file) and the notes about adjustments made to load it."""
    return _load(schema_file.path, schema_file.path.stat().st_mtime_ns)


def _parse(source: str | os.PathLike[str] | bytes) -> tuple[etree._ElementTree, str]:
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=True,
        remove_pis=True,
        remove_comments=True,
    )
    name = "<bytes>" if isinstance(source, bytes) else os.fspath(source)
    try:
        if isinstance(source, bytes):
            tree = etree.ElementTree(etree.fromstring(source, parser))
        else:
            tree = etree.parse(os.fspath(source), parser)
    except etree.XMLSyntaxError as exc:
        raise MalformedXML(f"not well-formed XML: {exc.msg}", filename=name, line=exc.lineno) from exc
    except OSError as exc:
        raise MalformedXML(f"cannot read the file: {exc.strerror or exc}", filename=name) from exc
    if getattr(tree.docinfo, "doctype", "") or tree.docinfo.internalDTD is not None:
        raise ForbiddenXML("the document has a DOCTYPE; it is refused, never resolved", filename=name, line=1)
    return tree, name


def validate(
    source: str | os.PathLike[str] | bytes, schema_dir: str | os.PathLike[str] | None = None
) -> ValidationResult:
    """Validate a file (path) or a document (bytes) against the XSD of the version it declares.

    Raises:
        MalformedXML: unreadable or not well-formed (``ForbiddenXML`` for a DOCTYPE).
        SchemaError: not a CommerceML document, or no ``ВерсияСхемы``.
        SchemaNotFound: no schema directory, or no XSD of that version in it.
    """
    tree, name = _parse(source)
    return _validate_tree(tree, name, schema_dir)


def _validate_tree(
    tree: etree._ElementTree, name: str, schema_dir: str | os.PathLike[str] | None
) -> ValidationResult:
    root = tree.getroot()
    qname = etree.QName(root)
    if qname.localname != ROOT:
        raise UnsupportedDocument(
            f"the root element is {qname.localname!r}, not {ROOT!r}", filename=name, line=_line(root)
        )
    version = (root.get(VERSION_ATTRIBUTE) or "").strip()
    if not version:
        raise SchemaError(
            f"the root element has no {VERSION_ATTRIBUTE} attribute", filename=name, line=_line(root)
        )
    directory = Path(schema_dir) if schema_dir is not None else default_schema_dir()
    if directory is None:
        raise SchemaNotFound(
            f"no schema directory: pass --schema-dir or set {SCHEMA_DIR_ENV} to a folder holding the "
            "official CommerceML XSDs",
            filename=name,
        )
    schemas = find_schemas(directory)
    if version not in schemas:
        known = ", ".join(sorted(schemas)) or "none"
        raise SchemaNotFound(
            f"no official XSD for CommerceML {version} in {directory} (versions found: {known})",
            filename=name,
        )
    schema_file = schemas[version]
    schema, schema_notes = load_schema(schema_file)
    notes = list(schema_notes)
    target = corrected_namespace(schema_file.target_namespace)
    document_ns = qname.namespace or ""
    if document_ns != target:
        _map_namespace(root, document_ns, target)
        shown = repr(document_ns) if document_ns else "no namespace"
        notes.append(
            f"the document declares {shown}; its elements were validated as if in {target!r}, "
            f"the target namespace of the {version} schema"
        )
    violations = [_violation(error, target) for error in schema.iter_errors(tree)]
    violations.sort(key=lambda v: (v.line is None, v.line or 0))
    return ValidationResult(
        source=name,
        schema_version=version,
        document_namespace=document_ns,
        schema=schema_file,
        notes=tuple(notes),
        violations=tuple(violations),
    )


def validate_file(
    path: str | os.PathLike[str], schema_dir: str | os.PathLike[str] | None = None
) -> list[Violation]:
    """Every violation of ``path`` against the official XSD of its version (see :func:`validate`)."""
    return list(validate(path, schema_dir).violations)


def assert_valid_orders_document(
    source: str | os.PathLike[str] | bytes, schema_dir: str | os.PathLike[str] | None = None
) -> ValidationResult:
    """Test helper: the orders document (``Документ`` / ``Контейнер``) must be schema-valid.

    Raises ``AssertionError`` listing every violation (and the notes), or when the document holds
    no documents at all. Schema lookup errors propagate (a missing schema is not a pass).
    """
    tree, name = _parse(source)
    kinds = {etree.QName(child).localname for child in tree.getroot() if isinstance(child.tag, str)}
    if not kinds & {"Документ", "Контейнер"}:
        raise AssertionError(f"{name}: not an orders document (root children: {sorted(kinds)})")
    result = _validate_tree(tree, name, schema_dir)
    if result.violations:
        lines = [
            f"{result.source}: {len(result.violations)} violation(s) of the CommerceML "
            f"{result.schema_version} schema ({result.schema.path}):"
        ]
        lines += [f"  note: {note}" for note in result.notes]
        lines += [f"  {violation}" for violation in result.violations[:100]]
        raise AssertionError("\n".join(lines))
    return result


def _violation(error: Any, namespace: str) -> Violation:
    """One xmlschema error as a Violation; an unexpected child is located at the child itself."""
    line = getattr(error, "sourceline", None)
    path = _MAPPED_PREFIX.sub("", error.path or "/")
    child = getattr(error, "invalid_child", None)
    if child is not None and isinstance(getattr(child, "sourceline", None), int):
        line = child.sourceline
        path = f"{path}/{etree.QName(child).localname}"
    return Violation(line, path, _readable(error.reason or str(error), namespace))


def _line(node: etree._Element) -> int | None:
    line = node.sourceline
    return line if isinstance(line, int) else None


def _map_namespace(root: etree._Element, source_ns: str, target_ns: str) -> None:
    prefix = f"{{{source_ns}}}" if source_ns else ""
    for node in root.iter():
        tag = node.tag
        if not isinstance(tag, str):
            continue
        if source_ns:
            if tag.startswith(prefix):
                node.tag = f"{{{target_ns}}}{tag[len(prefix) :]}"
        elif not tag.startswith("{"):
            node.tag = f"{{{target_ns}}}{tag}"


def _readable(message: str, namespace: str) -> str:
    """Drop the ``{namespace}`` and ``ns0:`` noise from xmlschema's messages."""
    return _MAPPED_PREFIX.sub("", message.replace(f"{{{namespace}}}", "")).strip()
