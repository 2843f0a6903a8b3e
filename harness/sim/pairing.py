"""Keys, certificates and pair records of virtual phones and of the lab host.

A real iPhone has an RSA key pair whose public half lockdownd hands out as ``DevicePublicKey``;
a host that pairs builds its own root/host/device certificates from it and sends them in
``Pair``. The client never verifies the device's TLS certificate (CERT_NONE), so the virtual
phone serves a self-signed one. For phones that start out paired the lab plays the host that
paired them earlier: it makes a pair record usbmuxd hands out on ``ReadPairRecord``, as
``/var/lib/lockdown`` does on a real lab host.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

_KEY_BITS = 2048


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=_KEY_BITS)


def key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def public_key_pkcs1_pem(key: rsa.RSAPrivateKey) -> bytes:
    """``DevicePublicKey`` as lockdownd sends it: a PKCS#1 "RSA PUBLIC KEY" PEM."""
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)


def self_signed_cert(
    key: rsa.RSAPrivateKey,
    common_name: str,
    issuer_key: rsa.RSAPrivateKey | None = None,
    public_key: rsa.RSAPublicKey | None = None,
) -> x509.Certificate:
    """A plain X.509 certificate for ``public_key`` (default: ``key``'s), signed by ``issuer_key``."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key or key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .sign(issuer_key or key, hashes.SHA256())
    )


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class DeviceIdentity:
    """A phone's own key (``DevicePublicKey``) and the certificate its TLS server presents."""

    key: rsa.RSAPrivateKey = field(default_factory=new_key)

    def __post_init__(self) -> None:
        self.cert = self_signed_cert(self.key, "Device")
        self.public_key_pem = public_key_pkcs1_pem(self.key)
        self.cert_pem = cert_pem(self.cert)
        self.key_pem = key_pem(self.key)


@dataclass
class HostIdentity:
    """The lab host as a pairing partner: one HostID and host certificate for all its phones."""

    system_buid: str
    host_id: str = field(default_factory=lambda: str(uuid.uuid4()).upper())
    key: rsa.RSAPrivateKey = field(default_factory=new_key)

    def __post_init__(self) -> None:
        self.root_cert = self_signed_cert(self.key, "Root")
        self.host_cert = self_signed_cert(self.key, "Host", issuer_key=self.key)

    def pair_record(self, device: DeviceIdentity, wifi_mac: str) -> dict:
        """The record a host keeps after pairing with ``device`` (keys as pymobiledevice3 stores them)."""
        device_cert = self_signed_cert(
            self.key, "Device", issuer_key=self.key, public_key=device.key.public_key()
        )
        return {
            "DeviceCertificate": cert_pem(device_cert),
            "HostCertificate": cert_pem(self.host_cert),
            "HostPrivateKey": key_pem(self.key),
            "HostID": self.host_id,
            "RootCertificate": cert_pem(self.root_cert),
            "RootPrivateKey": key_pem(self.key),
            "SystemBUID": self.system_buid,
            "WiFiMACAddress": wifi_mac,
            "EscrowBag": uuid.uuid4().bytes * 2,
        }
