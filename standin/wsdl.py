"""The WSDL of one endpoint: document/literal wrapped, in the shape the real ``bfabric`` client (suds) expects.

Requests are permissive (the query and the saved entity are ``xs:any``, so any field can be sent);
responses are strict: every element the server sends back is declared here, ``id`` is ``xs:long``,
and list fields have ``maxOccurs="unbounded"``.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

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
        '<xs:complexType name="anyContent"><xs:sequence>'
        '<xs:any minOccurs="0" maxOccurs="unbounded" processContents="lax"/>'
        "</xs:sequence></xs:complexType>",
        f'<xs:complexType name="readParameters"><xs:sequence>{credentials}'
        '<xs:element name="page" type="xs:int" minOccurs="0"/>'
        '<xs:element name="idonly" type="xs:boolean" minOccurs="0"/>'
        '<xs:element name="query" type="tns:anyContent" minOccurs="0"/>'
        "</xs:sequence></xs:complexType>",
        f'<xs:complexType name="saveParameters"><xs:sequence>{credentials}'
        '<xs:any minOccurs="0" maxOccurs="unbounded" processContents="lax"/>'
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
    for op in OPERATIONS:
        types += [
            f'<xs:element name="{op}" type="tns:{op}"/>',
            f'<xs:complexType name="{op}"><xs:sequence>'
            f'<xs:element name="parameters" type="tns:{op}Parameters" minOccurs="0"/>'
            "</xs:sequence></xs:complexType>",
            f'<xs:element name="{op}Response" type="tns:{op}Response"/>',
            f'<xs:complexType name="{op}Response"><xs:sequence>'
            '<xs:element name="return" type="tns:result" minOccurs="0"/>'
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
        f'<message name="{op}"><part name="parameters" element="tns:{op}"/></message>'
        f'<message name="{op}Response"><part name="parameters" element="tns:{op}Response"/></message>'
        for op in OPERATIONS
    )
    port_ops = "".join(
        f'<operation name="{op}"><input message="tns:{op}"/><output message="tns:{op}Response"/></operation>'
        for op in OPERATIONS
    )
    binding_ops = "".join(
        f'<operation name="{op}"><soap:operation soapAction=""/>'
        '<input><soap:body use="literal"/></input><output><soap:body use="literal"/></output></operation>'
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
        '<soap:binding transport="http://schemas.xmlsoap.org/soap/http" style="document"/>'
        f"{binding_ops}</binding>"
        f'<service name="{svc}"><port name="{svc}Port" binding="tns:{svc}PortBinding">'
        f"<soap:address location={quoteattr(address)}/></port></service>"
        "</definitions>"
    )
