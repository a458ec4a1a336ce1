"""Streaming CommerceML reader: feed bytes, get model objects. Sans-IO apart from :func:`iter_file`.

Theory of operation
-------------------
lxml's ``XMLPullParser`` builds the tree incrementally and reports the *end* of the elements we care
about (a tag filter in C, so Python sees only entity boundaries). When an entity element ends
(``Товар``, ``Предложение``, ``Документ`` ...) it is complete: we convert it (``_convert``), then
clear it and remove its already-processed siblings, so the tree never holds more than one entity
per list and memory stays flat whatever the file size. Headers (``Каталог``, ``ПакетПредложений``)
are converted when they end, after their lists have been emptied. Namespaces are ignored
(``{*}`` tag patterns); the encoding comes from the XML declaration (lxml reads the bytes).

Fast converters: a caller may give :class:`Reader` (and :func:`iter_file`) a callable per hot entity
(``Товар``, ``Предложение``) that gets the complete element before the model conversion. When it
returns something, that is yielded instead of the model object and the summary is updated from it
(:class:`OfferFacts` for offers); when it returns None (it *declines*), the converter runs on the same
element as always, so errors, warnings and their locations are exactly those of the converters. The
callable decides what it yields (e.g. a table row built straight from the element); this module
only counts.

Hardening: no network, no entity resolution, and any DOCTYPE is refused (``ForbiddenXML``), so
neither external entities (XXE) nor entity expansion (billion laughs) can happen.

Every failure is a :class:`~commerceml.errors.CommerceMLError` carrying file name, line and path.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, NamedTuple, overload

from lxml import etree

from commerceml import _convert as conv
from commerceml._convert import LOCAL
from commerceml.errors import (
    CommerceMLError,
    ForbiddenXML,
    MalformedXML,
    SchemaError,
    UnsupportedDocument,
)
from commerceml.model import (
    CatalogInfo,
    ClassifierInfo,
    DocumentHeader,
    Entity,
    FileRole,
    Group,
    OfferPackageInfo,
    UnknownSection,
)
from commerceml.ns import ROOT, any_ns

__all__ = [
    "COUNT_KEYS",
    "FAST_TAGS",
    "FastConverters",
    "OfferFacts",
    "ReadSummary",
    "ReadWarning",
    "Reader",
    "iter_file",
    "read_summary",
]

COUNT_KEYS = (
    "groups",
    "properties",
    "price_types",
    "warehouses",
    "products",
    "offers",
    "prices",
    "documents",
)

_SECTIONS = ("Классификатор", "Каталог", "ПакетПредложений", "ИзмененияПакетаПредложений")
_KNOWN_ROOT_CHILDREN = frozenset(_SECTIONS + ("Документ", "Контейнер", "Контрагенты"))
_TAGS = (
    ROOT,
    *_SECTIONS,
    "Свойство",
    "СвойствоНоменклатуры",
    "ТипыЦен",
    "Склады",
    "ЕдиницыИзмерения",
    "Товар",
    "Предложение",
    "Документ",
    "Контейнер",
    "Контрагент",
    "Контрагенты",
)
# List element -> (item element, converter, summary counter); converted when the list ends.
_LISTS: dict[str, tuple[str, Callable[[Any, str], Entity], str | None]] = {
    "ТипыЦен": ("ТипЦены", conv.price_type, "price_types"),
    "Склады": ("Склад", conv.warehouse, "warehouses"),
    "ЕдиницыИзмерения": ("ЕдиницаИзмерения", conv.unit_element, None),
}
_LIST_OWNERS = frozenset({ROOT, *_SECTIONS})
_DECLARATION = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_DESCRIPTIVE_OFFER_FIELDS = ("name", "article", "barcode", "base_unit")


class OfferFacts(NamedTuple):
    """What a fast ``Предложение`` converter returns: the item to yield and what the summary needs."""

    item: Any
    """Yielded in place of the :class:`~commerceml.model.Offer`."""
    prices: int | None
    """``len(offer.prices)``: the number of ``Цена`` elements, None without a ``Цены`` section."""
    stocked: bool
    """``offer.stock is not None or offer.quantity is not None``."""
    descriptive: bool
    """The offer has characteristics or property values, or a name, article, barcode or base unit."""


FAST_TAGS: Final = frozenset({"Товар", "Предложение"})
"""The entities a fast converter may be given for."""

FastConverters = Mapping[str, Callable[[Any], Any]]
"""Entity tag -> fast converter: ``Товар`` -> the item or None; ``Предложение`` -> an
:class:`OfferFacts` or None (None: the model converter runs instead)."""


@dataclass(frozen=True, slots=True)
class ReadWarning:
    """Something the reader skipped on purpose (an empty ``<Предложение/>``) or could not place."""

    message: str
    line: int | None
    path: str | None


@dataclass(slots=True)
class ReadSummary:
    """What a file is and how much it holds; complete once the reader is closed."""

    filename: str | None = None
    role: FileRole = FileRole.UNKNOWN
    schema_version: str | None = None
    encoding: str = "utf-8"
    changes_only: bool | None = None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_KEYS, 0))
    warnings: list[ReadWarning] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The ``inspect --json`` object."""
        return {
            "role": str(self.role),
            "schema_version": self.schema_version,
            "encoding": self.encoding,
            "changes_only": self.changes_only,
            "counts": dict(self.counts),
        }


class Reader:
    """Incremental CommerceML reader.

    Example::

        reader = Reader("import.xml")
        for chunk in chunks:
            for entity in reader.feed(chunk):
                ...
        for entity in reader.close():
            ...
        reader.summary.role

    Args:
        filename: used only in error messages and the summary.
        fast: optional fast converters by entity tag (:data:`FastConverters`, module docstring).

    Raises (from ``feed``/``close``): :class:`CommerceMLError` and its subclasses, never anything else.
    """

    def __init__(self, filename: str | None = None, *, fast: FastConverters | None = None) -> None:
        self.filename = filename
        unknown = set(fast or ()) - FAST_TAGS
        if unknown:
            raise ValueError(f"no fast converter can be given for {sorted(unknown)}")
        self._fast_product = fast.get("Товар") if fast else None
        self._fast_offer = fast.get("Предложение") if fast else None
        self.summary = ReadSummary(filename=filename)
        self._parser = etree.XMLPullParser(
            events=("end",),
            tag=[any_ns(name) for name in _TAGS],
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=True,
            remove_comments=True,
            remove_pis=True,
        )
        self._head = b""
        self._root: Any = None
        self._closed = False
        self._failed: CommerceMLError | None = None
        self._containers = 0
        self._index: Counter[str] = Counter()
        self._sections: dict[str, Any] = {}
        self._catalog_has_products = False
        self._offers_descriptive = False
        self._offers_with_prices = 0
        self._offers_with_stock = 0
        self._seen_sections: set[str] = set()
        self._cached_parent: Any = None
        self._cached_path = ""

    # --- public API ------------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Any]:
        """Feed the next chunk of the file; returns the entities (or fast items) it completed."""
        self._check_usable()
        if len(self._head) < 1024:
            self._head += data[: 1024 - len(self._head)]
        try:
            self._parser.feed(data)
        except etree.XMLSyntaxError as exc:
            raise self._fail(self._syntax_error(exc)) from None
        return self._drain()

    def close(self) -> list[Any]:
        """Signal the end of the file; returns the last entities and completes ``summary``."""
        self._check_usable()
        self._closed = True
        try:
            root = self._parser.close()
        except etree.XMLSyntaxError as exc:
            raise self._fail(self._syntax_error(exc)) from None
        entities = self._drain()
        if self._root is None:
            self._start(root)
        self._finish_summary()
        return entities

    def retained_elements(self) -> int:
        """How many elements the parser's tree holds now: bounded, whatever the file size."""
        return 0 if self._root is None else sum(1 for _ in self._root.iter())

    # --- driving the parser ----------------------------------------------------------------

    def _check_usable(self) -> None:
        if self._failed is not None:
            raise self._failed
        if self._closed:
            raise CommerceMLError("reader already closed", filename=self.filename)

    def _fail(self, error: CommerceMLError) -> CommerceMLError:
        error.located(self.filename)
        self._failed = error
        return error

    def _drain(self) -> list[Any]:
        out: list[Any] = []
        el: Any = None
        try:
            for _event, item in self._parser.read_events():
                el = item
                if self._root is None:
                    out.extend(self._start(el.getroottree().getroot()))
                self._handle(el, out)
        except etree.XMLSyntaxError as exc:
            raise self._fail(self._syntax_error(exc)) from None
        except CommerceMLError as exc:
            raise self._fail(exc) from None
        except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
            # A converter bug must still surface as a located CommerceML error, not a crash.
            raise self._fail(
                SchemaError(f"cannot read element: {exc!r}", line=_line(el), path=self._path_of(el))
            ) from exc
        return out

    def _start(self, root: Any) -> list[Entity]:
        self._root = root
        if root is None:
            raise self._fail(MalformedXML("the file holds no XML document", line=1))
        docinfo = root.getroottree().docinfo
        if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
            raise self._fail(
                ForbiddenXML(
                    "DOCTYPE and entity declarations are not allowed in CommerceML",
                    line=self._doctype_line(root),
                )
            )
        if LOCAL[root.tag] != ROOT:
            raise self._fail(
                UnsupportedDocument(
                    f"the root element is {LOCAL[root.tag]!r}, not {ROOT!r}",
                    line=root.sourceline,
                    path=LOCAL[root.tag],
                )
            )
        version = conv.attr(root, "ВерсияСхемы")
        self.summary.schema_version = version
        attributes = tuple(
            (LOCAL[k], v.strip())
            for k, v in root.attrib.items()
            if LOCAL[k] not in ("ВерсияСхемы", "ДатаФормирования") and not k.startswith("{")
        )
        return [DocumentHeader(version, conv.attr(root, "ДатаФормирования"), attributes)]

    def _doctype_line(self, root: Any) -> int | None:
        """The line of ``<!DOCTYPE``: found in the head of the file, else bounded by the root's line."""
        index = self._head.find(b"<!DOCTYPE")
        if index >= 0:
            return self._head[:index].count(b"\n") + 1
        return _line(root)

    def _handle(self, el: Any, out: list[Any]) -> None:
        name = LOCAL[el.tag]
        parent = el.getparent()
        pname = LOCAL[parent.tag] if parent is not None else ""
        if name == "Предложение":
            if pname == "Предложения":
                self._offer(el, parent, out)
        elif name == "Товар":
            if pname == "Товары" and LOCAL[parent.getparent().tag] == "Каталог":
                self._index["Товар"] += 1
                fast = self._fast_product
                item = None if fast is None else fast(el)
                if item is None:
                    item = conv.product(el, self._item_path(parent, "Товар"))
                out.append(item)
                self.summary.counts["products"] += 1
                self._release(el, parent, "Товар")
        elif name in ("Свойство", "СвойствоНоменклатуры"):
            if pname == "Свойства" and LOCAL[parent.getparent().tag] != "Категория":
                self._index[name] += 1
                out.append(conv.property_def(el, self._item_path(parent, name)))
                self.summary.counts["properties"] += 1
                self._release(el, parent, name)
        elif name in _LISTS:
            # Short lists (price types, warehouses, units) are converted when the list ends.
            if pname in _LIST_OWNERS:
                self._list(el, name, out)
        elif name == "Документ":
            if parent is self._root or pname == "Контейнер":
                self._index["Документ"] += 1
                container = self._containers if pname == "Контейнер" else None
                doc = conv.document(el, self._item_path(parent, "Документ"), container)
                out.append(doc)
                self.summary.counts["documents"] += 1
                self.summary.counts["warehouses"] += len(doc.warehouses)
                if parent is self._root:
                    self._release_root_child(el, out)
                else:
                    self._release(el, parent, "Документ")
        elif name == "Контрагент":
            if pname == "Контрагенты" and parent.getparent() is self._root:
                self._index["Контрагент"] += 1
                out.append(conv.counterparty(el, self._item_path(parent, "Контрагент")))
                self._release(el, parent, "Контрагент")
        elif name == "Контейнер" or name == "Контрагенты":
            if parent is self._root:
                if name == "Контейнер":
                    self._containers += 1
                self._seen_sections.add(name)
                self._release_root_child(el, out)
        elif name in _SECTIONS:
            if parent is self._root:
                self._section(el, name, out)
        elif name == ROOT and parent is None:
            self._release_root_child(None, out)

    def _list(self, el: Any, name: str, out: list[Any]) -> None:
        item, convert, count = _LISTS[name]
        base = self._path_of(el)
        index = 0
        for child in el:
            if LOCAL[child.tag] != item:
                if isinstance(child.tag, str):
                    self.summary.warnings.append(
                        ReadWarning(
                            f"unexpected element <{LOCAL[child.tag]}> in a list of <{item}> ignored",
                            _line(child),
                            f"{base}/{LOCAL[child.tag]}",
                        )
                    )
                continue
            index += 1
            out.append(convert(child, f"{base}/{item}[{index}]"))
            if count:
                self.summary.counts[count] += 1
        el.clear()

    def _offer(self, el: Any, parent: Any, out: list[Any]) -> None:
        self._index["Предложение"] += 1
        counts = self.summary.counts
        counts["offers"] += 1
        facts: OfferFacts | None = None
        if len(el) == 0 and not (el.text or "").strip() and not el.keys():
            path = self._item_path(parent, "Предложение")
            self.summary.warnings.append(ReadWarning("empty <Предложение/> skipped", _line(el), path))
        elif self._fast_offer is not None and (facts := self._fast_offer(el)) is not None:
            out.append(facts.item)
            if facts.prices is not None:
                counts["prices"] += facts.prices
                self._offers_with_prices += 1
            if facts.stocked:
                self._offers_with_stock += 1
            if facts.descriptive:
                self._offers_descriptive = True
        else:
            offer = conv.offer(el, self._item_path(parent, "Предложение"))
            out.append(offer)
            if offer.prices is not None:
                self.summary.counts["prices"] += len(offer.prices)
                self._offers_with_prices += 1
            if offer.stock is not None or offer.quantity is not None:
                self._offers_with_stock += 1
            if not self._offers_descriptive and (
                offer.characteristics
                or offer.property_values
                or any(getattr(offer, f) is not None for f in _DESCRIPTIVE_OFFER_FIELDS)
            ):
                self._offers_descriptive = True
        self._release(el, parent, "Предложение")

    def _section(self, el: Any, name: str, out: list[Any]) -> None:
        path = self._path_of(el)
        self._seen_sections.add(name)
        section: ClassifierInfo | CatalogInfo | OfferPackageInfo
        if name == "Классификатор":
            for child in el:
                if LOCAL[child.tag] == "Группы":
                    groups: list[Group] = []
                    stray: list[tuple[str, int | None]] = []
                    conv.group_tree(child, f"{path}/Группы", None, groups, stray)
                    out.extend(groups)
                    for where, line in stray:
                        self.summary.warnings.append(
                            ReadWarning("unexpected element in a list of groups ignored", line, where)
                        )
                    self.summary.counts["groups"] += len(groups)
                    child.clear()
            section = conv.classifier_info(el, path)
        elif name == "Каталог":
            section = conv.catalog_info(el, path)
            self._catalog_has_products = self._catalog_has_products or any(
                LOCAL[c.tag] == "Товары" for c in el
            )
        else:
            section = conv.offer_package_info(el, path)
        self._sections.setdefault(name, section)
        out.append(section)
        self._release_root_child(el, out)

    # --- memory release ----------------------------------------------------------------------

    def _release(self, el: Any, parent: Any, item: str) -> None:
        """Clear a processed list item and drop its processed predecessors (flat memory)."""
        el.clear()
        prev = el.getprevious()
        while prev is not None:
            if LOCAL[prev.tag] != item and isinstance(prev.tag, str):
                self.summary.warnings.append(
                    ReadWarning(
                        f"unexpected element <{LOCAL[prev.tag]}> in a list of <{item}> ignored",
                        _line(prev),
                        self._path_of(prev),
                    )
                )
            parent.remove(prev)
            prev = el.getprevious()

    def _release_root_child(self, el: Any, out: list[Any]) -> None:
        """Clear a processed root section; report unknown sections before it, then drop them."""
        root = self._root
        if el is not None:
            el.clear()
        for child in list(root):
            if child is el:
                break
            name = LOCAL[child.tag]
            if name and name not in _KNOWN_ROOT_CHILDREN:
                extra: list[tuple[str, str]] = []
                conv.flatten(child, name, extra)
                out.append(UnknownSection(name, _line(child), tuple(extra)))
                self.summary.warnings.append(
                    ReadWarning(f"unknown section <{name}> reported, not imported", _line(child), name)
                )
            root.remove(child)

    # --- locations -------------------------------------------------------------------------

    def _item_path(self, parent: Any, item: str) -> str:
        if parent is self._cached_parent:
            base = self._cached_path
        else:
            base = self._cached_path = self._path_of(parent)
            self._cached_parent = parent
        here = f"{item}[{self._index[item]}]"
        return f"{base}/{here}" if base else here

    def _path_of(self, el: Any) -> str:
        names: list[str] = []
        node = el
        while node is not None and node is not self._root:
            names.append(LOCAL[node.tag])
            node = node.getparent()
        return "/".join(reversed(names))

    def _open_path(self) -> str | None:
        """Best guess of the element being parsed: the chain of last children from the root."""
        root = self._root
        if root is None:
            return None
        names = [LOCAL[root.tag]]
        node = root
        while len(node):
            node = node[-1]
            names.append(LOCAL[node.tag])
        return "/".join(names)

    def _syntax_error(self, exc: etree.XMLSyntaxError) -> CommerceMLError:
        line = exc.lineno if exc.lineno else None
        message = str(exc.msg) if exc.msg else "malformed XML"
        lowered = message.lower()
        if "entity" in lowered or "doctype" in lowered or "dtd" in lowered:
            return ForbiddenXML(message, line=line, path=self._open_path())
        if self._root is None:
            try:
                partial = self._parser.close()
            except etree.XMLSyntaxError:
                partial = None
            if partial is not None:
                self._root = partial
        return MalformedXML(message, line=line, path=self._open_path())

    # --- summary -----------------------------------------------------------------------------

    def _finish_summary(self) -> None:
        summary = self.summary
        summary.encoding = sniff_encoding(self._head)
        seen = self._seen_sections
        classifier = self._sections.get("Классификатор")
        catalog = self._sections.get("Каталог")
        package = self._sections.get("ПакетПредложений") or self._sections.get("ИзмененияПакетаПредложений")
        if summary.counts["documents"] or "Контейнер" in seen:
            summary.role = FileRole.DOCUMENTS
        elif catalog is not None and (self._catalog_has_products or summary.counts["products"]):
            summary.role = FileRole.GOODS
            summary.changes_only = _first_flag(catalog, classifier)
        elif package is not None:
            summary.role = self._offers_role()
            summary.changes_only = _first_flag(package, classifier)
        elif "Контрагенты" in seen:
            summary.role = FileRole.COUNTERPARTIES
        elif classifier is not None:
            summary.role = FileRole.CLASSIFIER
            summary.changes_only = _first_flag(classifier, catalog)

    def _offers_role(self) -> FileRole:
        if self._offers_descriptive:
            return FileRole.OFFERS
        if self._offers_with_prices and not self._offers_with_stock:
            return FileRole.PRICES
        if self._offers_with_stock and not self._offers_with_prices:
            return FileRole.RESTS
        return FileRole.OFFERS


def _first_flag(*sections: Any) -> bool | None:
    for section in sections:
        if section is not None and section.changes_only is not None:
            return bool(section.changes_only)
    return None


def _line(el: Any) -> int | None:
    line = getattr(el, "sourceline", None)
    return line if isinstance(line, int) else None


def sniff_encoding(head: bytes) -> str:
    """The encoding a file declares, lower-case; ``utf-8`` without a declaration (XML 1.0 §4.3.3)."""
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    match = _DECLARATION.match(head.lstrip())
    return match.group(1).decode("ascii").lower() if match else "utf-8"


@overload
def iter_file(
    path: str | Path, chunk_size: int = ..., *, summary: ReadSummary | None = ..., fast: None = ...
) -> Iterator[Entity]: ...


@overload
def iter_file(
    path: str | Path, chunk_size: int = ..., *, summary: ReadSummary | None = ..., fast: FastConverters
) -> Iterator[Any]: ...


def iter_file(
    path: str | Path,
    chunk_size: int = 1 << 20,
    *,
    summary: ReadSummary | None = None,
    fast: FastConverters | None = None,
) -> Iterator[Any]:
    """Read a file in chunks, yielding entities as they complete; memory stays flat.

    Args:
        path: the CommerceML file.
        chunk_size: bytes read per step.
        summary: if given, filled in (role, counts, warnings) once the file is read to the end.
        fast: optional fast converters by entity tag (see :class:`Reader`); without them every item
            is an :data:`~commerceml.model.Entity`.

    Raises:
        CommerceMLError: the file cannot be read as CommerceML (with file name, line and path).
    """
    name = str(path)
    reader = Reader(name, fast=fast)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed in finally; generator-friendly
    except OSError as exc:
        raise MalformedXML(f"cannot open file: {exc.strerror or exc}", filename=name) from exc
    try:
        while True:
            try:
                data = handle.read(chunk_size)
            except OSError as exc:
                raise MalformedXML(f"cannot read file: {exc.strerror or exc}", filename=name) from exc
            if not data:
                break
            yield from reader.feed(data)
        yield from reader.close()
    finally:
        handle.close()
    if summary is not None:
        _copy_summary(reader.summary, summary)


def _copy_summary(source: ReadSummary, target: ReadSummary) -> None:
    for slot in ReadSummary.__slots__:
        setattr(target, slot, getattr(source, slot))


def read_summary(path: str | Path, chunk_size: int = 1 << 20) -> ReadSummary:
    """Read a whole file and return its summary (role, version, encoding, flag, counts, warnings)."""
    summary = ReadSummary(filename=str(path))
    for _entity in iter_file(path, chunk_size, summary=summary):
        pass
    return summary
