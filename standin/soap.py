"""SOAP envelopes: parse a request into plain Python values, render an answer from entity dicts."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from standin.schema import EntityType, Field
from standin.wsdl import NAMESPACE

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


class SoapFault(Exception):
    """A request the stand-in cannot understand (answered with a SOAP fault, HTTP 500)."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def element_value(el: ET.Element) -> Any:
    """An element as a Python value: text for a leaf (None if nil), a dict for a structure.

    Repeated child elements become a list; a single one stays a scalar or dict (callers that
    know a field is a list wrap it again).
    """
    children = list(el)
    if not children:
        if el.get(f"{{{XSI}}}nil") in ("true", "1"):
            return None
        return el.text or ""
    grouped: dict[str, list[Any]] = {}
    for child in children:
        grouped.setdefault(_local(child.tag), []).append(element_value(child))
    return {key: values[0] if len(values) == 1 else values for key, values in grouped.items()}


def parse_request(body: bytes) -> tuple[str, dict[str, Any]]:
    """The operation name (``read``/``save``/``delete``) and its ``parameters`` of a SOAP request."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise SoapFault(f"malformed XML: {exc}") from exc
    body_el = next((el for el in root if _local(el.tag) == "Body"), None)
    if body_el is None or len(body_el) == 0:
        raise SoapFault("no SOAP Body")
    op_el = body_el[0]
    params_el = next((el for el in op_el if _local(el.tag) == "parameters"), None)
    params = element_value(params_el) if params_el is not None else {}
    return _local(op_el.tag), params if isinstance(params, dict) else {}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _append_field(parent: ET.Element, f: Field, value: Any) -> None:
    values = value if isinstance(value, list) else [value]
    if not f.is_list:
        values = values[:1]
    for v in values:
        if v is None:
            continue
        el = ET.SubElement(parent, f.name)
        if f.kind == "ref":
            if isinstance(v, dict):
                if v.get("classname"):
                    ET.SubElement(el, "classname").text = str(v["classname"])
                ET.SubElement(el, "id").text = str(int(v["id"]))
        elif f.kind == "nested":
            if isinstance(v, dict):
                _append_fields(el, f.children, v)
        elif f.kind == "long":
            el.text = str(int(v))
        else:
            el.text = _text(v)


def _append_fields(parent: ET.Element, fields: tuple[Field, ...], data: dict[str, Any]) -> None:
    """Append the declared ``fields`` of ``data`` (undeclared keys are left out: suds would reject them)."""
    for f in fields:
        if f.name in data and data[f.name] is not None:
            _append_field(parent, f, data[f.name])


def render_response(
    operation: str,
    etype: EntityType,
    entities: list[dict[str, Any]],
    *,
    errorreport: str | None = None,
    page: int | None = None,
    numberofpages: int | None = None,
) -> bytes:
    """The SOAP answer to ``operation`` carrying ``entities`` (already rendered dicts)."""
    ET.register_namespace("soap", SOAP_ENV)
    envelope = ET.Element(f"{{{SOAP_ENV}}}Envelope")
    body = ET.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
    response = ET.SubElement(body, f"{{{NAMESPACE}}}{operation}Response")
    ret = ET.SubElement(response, "return")
    if errorreport:
        ET.SubElement(ret, "errorreport").text = errorreport
    if numberofpages is not None:
        ET.SubElement(ret, "numberofpages").text = str(numberofpages)
    if page is not None:
        ET.SubElement(ret, "page").text = str(page)
    for entity in entities:
        el = ET.SubElement(ret, etype.endpoint)
        _append_fields(el, etype.fields, entity)
    return ET.tostring(envelope, encoding="utf-8", xml_declaration=True)


def render_fault(message: str) -> bytes:
    """A SOAP 1.1 fault carrying ``message``."""
    envelope = ET.Element(f"{{{SOAP_ENV}}}Envelope")
    body = ET.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
    fault = ET.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    ET.SubElement(fault, "faultcode").text = "soap:Client"
    ET.SubElement(fault, "faultstring").text = message
    return ET.tostring(envelope, encoding="utf-8", xml_declaration=True)
