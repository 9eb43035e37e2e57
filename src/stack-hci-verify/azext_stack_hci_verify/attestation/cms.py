# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""CMS SignedData (RFC 5652): parsed with asn1crypto, signatures checked with cryptography.

``cryptography`` has no public API to verify PKCS#7, so the structure is read here and each
signature is verified with the signer's public key.
"""

import warnings
from dataclasses import dataclass, field
from typing import List, Optional

from asn1crypto import cms as asn1_cms
from asn1crypto import core as asn1_core
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.utils import CryptographyDeprecationWarning

from .result import failed, passed, unknown

OID_DATA = "1.2.840.113549.1.7.1"
OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
OID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"

# The digest-algorithm field: RFC 5652 wants a digest OID; Azure writes the signature OID
# (sha256WithRSAEncryption). Both name the hash.
DIGEST_BY_OID = {
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
    "1.2.840.113549.1.1.11": "sha256",  # sha256WithRSAEncryption
    "1.2.840.113549.1.1.12": "sha384",
    "1.2.840.113549.1.1.13": "sha512",
    "1.2.840.10045.4.3.2": "sha256",  # ecdsa-with-SHA256
    "1.2.840.10045.4.3.3": "sha384",
    "1.2.840.10045.4.3.4": "sha512",
}
WEAK_DIGEST_OIDS = {
    "1.2.840.113549.2.5": "md5",
    "1.3.14.3.2.26": "sha1",
    "1.2.840.113549.1.1.4": "md5WithRSAEncryption",
    "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
    "1.3.14.3.2.29": "sha1WithRSAEncryption",
    "1.2.840.10045.4.1": "ecdsa-with-SHA1",
}
# The signature-algorithm field: key family and, where the OID says so, the hash.
SIGNATURE_BY_OID = {
    "1.2.840.113549.1.1.1": ("rsa", None),  # rsaEncryption, what Azure writes
    "1.2.840.113549.1.1.11": ("rsa", "sha256"),
    "1.2.840.113549.1.1.12": ("rsa", "sha384"),
    "1.2.840.113549.1.1.13": ("rsa", "sha512"),
    "1.2.840.10045.2.1": ("ecdsa", None),  # id-ecPublicKey, written by some signers
    "1.2.840.10045.4.3.2": ("ecdsa", "sha256"),
    "1.2.840.10045.4.3.3": ("ecdsa", "sha384"),
    "1.2.840.10045.4.3.4": ("ecdsa", "sha512"),
}
_HASH_CLASSES = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}


class MalformedCmsError(ValueError):
    def __init__(self, message, reason_code="malformed-document"):
        super().__init__(message)
        self.reason_code = reason_code


@dataclass
class BagCertificate:
    der: bytes
    serial_number: Optional[int]
    issuer: object  # asn1crypto x509.Name
    issuer_der: bytes
    key_identifier: Optional[bytes]  # subjectKeyIdentifier extension value
    cert: Optional[x509.Certificate]  # None when cryptography refuses it
    error: Optional[str] = None


@dataclass
class SignerInfoData:  # pylint: disable=too-many-instance-attributes
    sid_kind: str  # "issuer_and_serial_number" or "subject_key_identifier"
    sid_issuer: object = None  # asn1crypto x509.Name
    sid_issuer_der: Optional[bytes] = None
    sid_serial: Optional[int] = None
    sid_key_identifier: Optional[bytes] = None
    digest_oid: str = ""
    signature_oid: str = ""
    signature: bytes = b""
    signed_attrs_der: Optional[bytes] = None  # the original bytes, [0]-tagged, as received
    attributes: list = field(default_factory=list)  # asn1crypto CMSAttribute objects

    def describe_sid(self):
        if self.sid_kind == "subject_key_identifier":
            return f"subjectKeyIdentifier {self.sid_key_identifier.hex() if self.sid_key_identifier else '?'}"
        issuer = _human_name(self.sid_issuer)
        return f"issuer '{issuer}' and serial {format(self.sid_serial or 0, 'x')}"


@dataclass
class SignedDataParts:
    content_type_oid: str
    content: bytes
    certificates: List[BagCertificate]
    signer_infos: List[SignerInfoData]


def _human_name(name):
    try:
        return name.human_friendly
    except Exception:  # pylint: disable=broad-except  # display only
        return "?"


def parse_signed_data(der):
    """Read a DER ContentInfo holding SignedData with attached content.

    Raises ``MalformedCmsError`` with reason ``malformed-document``, ``not-signed-data`` or
    ``detached-content``.
    """
    try:
        info = asn1_cms.ContentInfo.load(bytes(der), strict=True)
        outer_type = info["content_type"].dotted
    except Exception as exc:  # pylint: disable=broad-except  # asn1crypto raises many kinds on bad input
        raise MalformedCmsError(f"not a DER CMS ContentInfo: {_short(exc)}") from None
    if outer_type != OID_SIGNED_DATA:
        raise MalformedCmsError(f"expected CMS SignedData ({OID_SIGNED_DATA}), found content type {outer_type}",
                                "not-signed-data")
    try:
        signed = info["content"]
        encap = signed["encap_content_info"]
        content_type_oid = encap["content_type"].dotted
        content_value = encap["content"]
        if isinstance(content_value, asn1_core.Void):
            content = None
        else:
            content = content_value.native
            if isinstance(content, str):
                content = content.encode("utf-8")
            elif content is not None and not isinstance(content, bytes):
                content = content_value.contents
        certificates = _read_certificates(signed["certificates"])
        signer_infos = [_read_signer_info(si) for si in signed["signer_infos"]]
    except MalformedCmsError:
        raise
    except Exception as exc:  # pylint: disable=broad-except
        raise MalformedCmsError(f"the SignedData does not parse: {_short(exc)}") from None
    if content is None:
        raise MalformedCmsError("the SignedData has no attached content (detached signature)", "detached-content")
    return SignedDataParts(content_type_oid, content, certificates, signer_infos)


def _read_certificates(value):
    if isinstance(value, asn1_core.Void):
        return []
    found = []
    for choice in value:
        if choice.name != "certificate":
            continue  # attribute certificates and other formats play no part here
        asn1_cert = choice.chosen
        der = asn1_cert.dump()
        tbs = asn1_cert["tbs_certificate"]
        try:
            key_identifier = asn1_cert.key_identifier
        except Exception:  # pylint: disable=broad-except  # a malformed extension: no SKI match
            key_identifier = None
        cert, error = None, None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", CryptographyDeprecationWarning)
                cert = x509.load_der_x509_certificate(der)
        except ValueError as exc:
            error = _short(exc)
        found.append(BagCertificate(
            der=der,
            serial_number=tbs["serial_number"].native,
            issuer=tbs["issuer"],
            issuer_der=tbs["issuer"].dump(),
            key_identifier=key_identifier,
            cert=cert,
            error=error,
        ))
    return found


def _read_signer_info(signer_info):
    sid = signer_info["sid"]
    data = SignerInfoData(sid_kind=sid.name)
    if sid.name == "issuer_and_serial_number":
        data.sid_issuer = sid.chosen["issuer"]
        data.sid_issuer_der = sid.chosen["issuer"].dump()
        data.sid_serial = sid.chosen["serial_number"].native
    else:
        data.sid_key_identifier = sid.chosen.native
    data.digest_oid = signer_info["digest_algorithm"]["algorithm"].dotted
    data.signature_oid = signer_info["signature_algorithm"]["algorithm"].dotted
    data.signature = signer_info["signature"].native
    attrs = signer_info["signed_attrs"]
    if not isinstance(attrs, asn1_core.Void):
        # Taken before anything else touches the value: asn1crypto returns the bytes it parsed
        # (header + contents) for an unmodified value, which is what was signed (after
        # re-tagging); a re-encoding would sort the SET OF and could differ.
        data.signed_attrs_der = attrs.dump()
        data.attributes = list(attrs)
    return data


def signer_matches(bag_cert, signer_info):
    """Does this bag certificate match the SignerInfo's SID?"""
    if signer_info.sid_kind == "subject_key_identifier":
        return bool(bag_cert.key_identifier) and bag_cert.key_identifier == signer_info.sid_key_identifier
    if bag_cert.serial_number != signer_info.sid_serial:
        return False
    if bag_cert.issuer_der == signer_info.sid_issuer_der:
        return True
    try:  # asn1crypto compares names the RFC 5280 way (case and space folding)
        return bag_cert.issuer == signer_info.sid_issuer
    except Exception:  # pylint: disable=broad-except
        return False


CHECK = "signatureValid"


def check_signature(parts, signer_info, cert):
    """Verify ``signer_info``'s signature over ``parts.content`` with ``cert``'s key; a Check."""
    algorithms = _algorithms(signer_info)
    if not isinstance(algorithms, tuple):
        return algorithms
    hash_name, family = algorithms
    key = _signer_key(cert, family)
    if not isinstance(key, tuple):
        return key
    public_key, key_family = key
    digest = _digest(hash_name, parts.content)
    if signer_info.signed_attrs_der is not None:
        outcome = _check_signed_attributes(parts, signer_info, digest, hash_name)
        if outcome is not None:
            return outcome
        # RFC 5652 5.4: the signature covers the DER of the attributes with the SET OF tag, not [0].
        signed_bytes = b"\x31" + signer_info.signed_attrs_der[1:]
        covered = "the signed attributes"
    else:
        signed_bytes = parts.content
        covered = "the content"
    return _verify(public_key, key_family, hash_name, signer_info.signature, signed_bytes, covered=covered)


def _weak(name):
    return failed(CHECK, "weak-algorithm", "SHA-256, SHA-384 or SHA-512", name,
                  f"the document is signed with {name}, which is not accepted")


def _algorithms(signer_info):
    """(hash name, key family) from the digest- and signature-algorithm fields, or a Check."""
    hash_name = DIGEST_BY_OID.get(signer_info.digest_oid)
    if hash_name is None:
        if signer_info.digest_oid in WEAK_DIGEST_OIDS:
            return _weak(WEAK_DIGEST_OIDS[signer_info.digest_oid])
        return unknown(CHECK, "unsupported-algorithm", "SHA-256, SHA-384 or SHA-512", signer_info.digest_oid,
                       f"digest algorithm {signer_info.digest_oid} is not supported")
    family, sig_hash = SIGNATURE_BY_OID.get(signer_info.signature_oid, (None, None))
    if family is None and signer_info.signature_oid in WEAK_DIGEST_OIDS:
        return _weak(WEAK_DIGEST_OIDS[signer_info.signature_oid])
    if family is None:
        return unknown(CHECK, "unsupported-algorithm", "RSA PKCS#1 v1.5 or ECDSA", signer_info.signature_oid,
                       f"signature algorithm {signer_info.signature_oid} is not supported")
    if sig_hash is not None and sig_hash != hash_name:
        return failed(CHECK, "algorithm-mismatch", f"{sig_hash} (from the signature algorithm)",
                      f"{hash_name} (from the digest algorithm)",
                      "the digest and signature algorithms name different hashes")
    return hash_name, family


def _signer_key(cert, family):
    """(public key, key family) of the signer certificate, or a Check."""
    try:
        public_key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        return failed(CHECK, "malformed-certificate", "a readable RSA or EC public key", _short(exc),
                      f"the signer certificate's public key does not parse: {_short(exc)}")
    if isinstance(public_key, rsa.RSAPublicKey):
        key_family = "rsa"
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        key_family = "ecdsa"
    else:
        return unknown(CHECK, "unsupported-algorithm", "an RSA or EC signer key", type(public_key).__name__,
                       "the signer's key type is not supported")
    if key_family != family:
        return failed(CHECK, "algorithm-mismatch", f"a {family} signer key", f"a {key_family} key",
                      "the signature algorithm does not fit the signer's key")
    return public_key, key_family


def _verify(public_key, key_family, hash_name, signature, signed_bytes, *, covered):
    label = _alg_label(key_family, hash_name)
    expected = f"a valid {label} signature over {covered}"
    hash_algorithm = _HASH_CLASSES[hash_name]()
    try:
        if key_family == "rsa":
            public_key.verify(signature, signed_bytes, padding.PKCS1v15(), hash_algorithm)
        else:
            public_key.verify(signature, signed_bytes, ec.ECDSA(hash_algorithm))
    except InvalidSignature:
        return failed(CHECK, "signature-invalid", expected,
                      "the signature does not verify with the signer certificate's key",
                      f"the signature over {covered} does not verify: "
                      "the document was changed or signed by another key")
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        return failed(CHECK, "signature-invalid", expected, _short(exc),
                      f"the signature could not be checked: {_short(exc)}")
    return passed(CHECK, expected, f"{label} signature over {covered} verifies")


def _check_signed_attributes(parts, signer_info, digest, hash_name):
    """None when contentType and messageDigest are there and right; else the failed Check."""
    raw = signer_info.signed_attrs_der
    if not raw or raw[0] != 0xA0:
        return failed(CHECK, "signed-attributes-invalid", "signed attributes tagged [0]",
                      f"tag 0x{raw[0]:02x}" if raw else "empty", "the signed attributes are malformed")
    values = _attribute_values(signer_info.attributes)
    if not isinstance(values, dict):
        return values
    missing = [name for oid, name in ((OID_CONTENT_TYPE, "contentType"), (OID_MESSAGE_DIGEST, "messageDigest"))
               if oid not in values]
    if missing:
        return failed(CHECK, "missing-signed-attribute", "contentType and messageDigest",
                      f"missing {', '.join(missing)}",
                      f"signed attributes are present but {', '.join(missing)} is missing (RFC 5652 5.3)")
    message_digest = values[OID_MESSAGE_DIGEST]
    if not isinstance(message_digest, bytes) or message_digest != digest:
        found = message_digest.hex() if isinstance(message_digest, bytes) else repr(message_digest)
        return failed(CHECK, "digest-mismatch", f"{hash_name} {digest.hex()}", found,
                      "the messageDigest attribute does not match the content: the content was changed")
    if values[OID_CONTENT_TYPE] != parts.content_type_oid:
        return failed(CHECK, "content-type-mismatch", parts.content_type_oid, values[OID_CONTENT_TYPE],
                      "the contentType attribute does not match the encapsulated content type")
    return None


def _attribute_values(attributes):
    """{oid: value} of contentType and messageDigest, or a failed Check when ambiguous or unreadable."""
    values = {}
    try:
        for attribute in attributes:
            oid = attribute["type"].dotted
            if oid not in (OID_CONTENT_TYPE, OID_MESSAGE_DIGEST):
                continue
            if oid in values or len(attribute["values"]) != 1:
                return failed(CHECK, "signed-attributes-invalid",
                              "exactly one contentType and one messageDigest value",
                              f"attribute {oid} repeated or multi-valued", "the signed attributes are ambiguous")
            value = attribute["values"][0]
            values[oid] = value.dotted if oid == OID_CONTENT_TYPE else value.native
    except Exception as exc:  # pylint: disable=broad-except  # asn1crypto on malformed values
        return failed(CHECK, "signed-attributes-invalid", "well-formed signed attributes",
                      _short(exc), f"the signed attributes do not parse: {_short(exc)}")
    return values


def _alg_label(family, hash_name):
    return f"{'RSA PKCS#1 v1.5' if family == 'rsa' else 'ECDSA'} {hash_name.upper()}"


def _digest(hash_name, data):
    hasher = hashes.Hash(_HASH_CLASSES[hash_name]())
    hasher.update(data)
    return hasher.finalize()


def _short(exc, limit=160):
    text = str(exc) or type(exc).__name__
    return text if len(text) <= limit else text[:limit] + "..."
