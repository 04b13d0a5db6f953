"""The WSDL of one endpoint, in the shape of B-Fabric's: rpc/literal, typed requests and answers.

B-Fabric's messages have one part, ``parameters`` of a request type (``bfabric-cli api inspect``
shows it), and the answer's part ``return``; on the wire this is ``<read><parameters>…`` as
before. Every field a query or a save may carry is declared, so the real client (suds) refuses
an unknown field itself (``Type not found: 'colour'``), as it does against B-Fabric; the service
checks again for other clients. Answers declare every element the server sends back, ``id`` is
``xs:long`` and list fields have ``maxOccurs="unbounded"``.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from standin.query import DATE_FILTERS
from standin.schema import EntityType, Field

NAMESPACE = "http://endpoint.server.webservice.bfabric.org/"
OPERATIONS = ("read", "save", "delete")


def _element(f: Field, type_name: str) -> str:
    occurs = ' maxOccurs="unbounded"' if f.is_list else ""
    return f'<xs:element name="{f.name}" type="{type_name}" minOccurs="0"{occurs}/>'


def _complex_type(name: str, fields: tuple[Field, ...], out: list[str]) -> None:
    """Append the complexType ``name`` (and the types of its nested fields) to ``out``."""
    body: list[str] = []
    for f in fields:
        if f.kind == "ref":
            body.append(_element(f, "tns:reference"))
        elif f.kind == "nested":
            child_type = f"{name}_{f.name}"
            _complex_type(child_type, f.children, out)
            body.append(_element(f, f"tns:{child_type}"))
        elif f.kind == "long":
            body.append(_element(f, "xs:long"))
        else:
            body.append(_element(f, "xs:string"))
    out.append(f'<xs:complexType name="{name}"><xs:sequence>{"".join(body)}</xs:sequence></xs:complexType>')


def _request_fields(etype: EntityType, *, query: bool) -> str:
    """Elements of a query (every field a list, plus ``<ref>id`` and the date filters) or of a saved entity."""
    many = ' maxOccurs="unbounded"' if query else ""
    body: list[str] = []
    for f in etype.fields:
        if f.name in ("errorreport", "deletionreport"):
            continue
        occurs = ' maxOccurs="unbounded"' if query or f.is_list else ""
        if f.kind == "ref":
            body.append(f'<xs:element name="{f.name}" type="tns:reference" minOccurs="0"{occurs}/>')
            if etype.get(f.name + "id") is None:
                body.append(f'<xs:element name="{f.name}id" type="xs:long" minOccurs="0"{occurs}/>')
        elif f.kind == "nested":
            body.append(f'<xs:element name="{f.name}" type="tns:{etype.endpoint}_{f.name}" minOccurs="0"{occurs}/>')
        else:
            body.append(f'<xs:element name="{f.name}" type="xs:{"long" if f.kind == "long" else "string"}" '
                        f'minOccurs="0"{occurs}/>')
    if query:
        body += [f'<xs:element name="{name}" type="xs:string" minOccurs="0"{many}/>' for name in DATE_FILTERS]
        body.append('<xs:element name="includedeletableupdateable" type="xs:boolean" minOccurs="0"/>')
    return "".join(body)


def _schema(etype: EntityType) -> str:
    endpoint = etype.endpoint
    types: list[str] = []
    _complex_type(endpoint, etype.fields, types)
    credentials = (
        '<xs:element name="login" type="xs:string" minOccurs="0"/>'
        '<xs:element name="password" type="xs:string" minOccurs="0"/>'
    )
    types += [
        '<xs:complexType name="reference"><xs:sequence>'
        '<xs:element name="classname" type="xs:string" minOccurs="0"/>'
        '<xs:element name="id" type="xs:long" minOccurs="0"/>'
        "</xs:sequence></xs:complexType>",
        f'<xs:complexType name="{endpoint}Query"><xs:sequence>{_request_fields(etype, query=True)}'
        "</xs:sequence></xs:complexType>",
        f'<xs:complexType name="{endpoint}Input"><xs:sequence>{_request_fields(etype, query=False)}'
        "</xs:sequence></xs:complexType>",
        f'<xs:complexType name="readParameters"><xs:sequence>{credentials}'
        '<xs:element name="page" type="xs:int" minOccurs="0"/>'
        '<xs:element name="idonly" type="xs:boolean" minOccurs="0"/>'
        f'<xs:element name="query" type="tns:{endpoint}Query" minOccurs="0"/>'
        "</xs:sequence></xs:complexType>",
        f'<xs:complexType name="saveParameters"><xs:sequence>{credentials}'
        f'<xs:element name="{endpoint}" type="tns:{endpoint}Input" minOccurs="0" maxOccurs="unbounded"/>'
        "</xs:sequence></xs:complexType>",
        f'<xs:complexType name="deleteParameters"><xs:sequence>{credentials}'
        '<xs:element name="id" type="xs:long" minOccurs="0" maxOccurs="unbounded"/>'
        "</xs:sequence></xs:complexType>",
        '<xs:complexType name="result"><xs:sequence>'
        '<xs:element name="errorreport" type="xs:string" minOccurs="0"/>'
        '<xs:element name="numberofpages" type="xs:int" minOccurs="0"/>'
        '<xs:element name="page" type="xs:int" minOccurs="0"/>'
        f'<xs:element name="{endpoint}" type="tns:{endpoint}" minOccurs="0" maxOccurs="unbounded"/>'
        "</xs:sequence></xs:complexType>",
    ]
    return (
        f'<xs:schema version="1.0" targetNamespace="{NAMESPACE}" elementFormDefault="unqualified">'
        + "".join(types)
        + "</xs:schema>"
    )


def service_name(endpoint: str) -> str:
    """``workunit`` -> ``WorkunitService``."""
    return endpoint.capitalize() + "Service"


def render_wsdl(etype: EntityType, address: str) -> str:
    """The WSDL document of the endpoint of ``etype``, whose ``soap:address`` is ``address`` (the POST URL)."""
    svc = service_name(etype.endpoint)
    messages = "".join(
        f'<message name="{op}"><part name="parameters" type="tns:{op}Parameters"/></message>'
        f'<message name="{op}Response"><part name="return" type="tns:result"/></message>'
        for op in OPERATIONS
    )
    port_ops = "".join(
        f'<operation name="{op}"><input message="tns:{op}"/><output message="tns:{op}Response"/></operation>'
        for op in OPERATIONS
    )
    body = f'<soap:body use="literal" namespace="{NAMESPACE}"/>'
    binding_ops = "".join(
        f'<operation name="{op}"><soap:operation soapAction=""/><input>{body}</input><output>{body}</output></operation>'
        for op in OPERATIONS
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" '
        'xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" '
        f'xmlns:tns="{NAMESPACE}" xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        f'targetNamespace="{NAMESPACE}" name="{svc}">'
        f"<types>{_schema(etype)}</types>"
        f"{messages}"
        f'<portType name="{svc}PortType">{port_ops}</portType>'
        f'<binding name="{svc}PortBinding" type="tns:{svc}PortType">'
        '<soap:binding transport="http://schemas.xmlsoap.org/soap/http" style="rpc"/>'
        f"{binding_ops}</binding>"
        f'<service name="{svc}"><port name="{svc}Port" binding="tns:{svc}PortBinding">'
        f"<soap:address location={quoteattr(address)}/></port></service>"
        "</definitions>"
    )
