"""Make the test CA and its two server certificates in this folder (see README.md).

Not run by the tests, and not a dependency of the project: run it with any Python that has
the `cryptography` package, e.g. `python -m venv /tmp/c && /tmp/c/bin/pip install
cryptography && /tmp/c/bin/python tests/support/tls/make_certificates.py`.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HERE = Path(__file__).parent
# Valid long before and long after any test run: a runner's clock need not be exact.
START = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
END = datetime.datetime(2125, 1, 1, tzinfo=datetime.UTC)
SERVERS = ("localhost", "elsewhere.test")


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(subject: str, issuer: str, public_key: object) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(START)
        .not_valid_after(END)
    )


def main() -> None:
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = "email-channels test CA"
    ca = (
        _builder(ca_name, ca_name, ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    (HERE / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    for server in SERVERS:  # the CA's key is not kept: nothing else is signed with it
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        certificate = (
            _builder(server, ca_name, key.public_key())
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(server)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
            .sign(ca_key, hashes.SHA256())
        )
        (HERE / f"{server}.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        (HERE / f"{server}.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )


if __name__ == "__main__":
    main()
