"""Signing secrets sealed with KMS (ADR 0080): `Encrypt` with the encryption context
`{tenantId, endpointId}` (a ciphertext moved to another endpoint does not decrypt), `Decrypt` only
in the delivery worker, and decrypted keys kept in memory by ciphertext so a warm worker pays no KMS
call per attempt. Plaintext secrets are never logged."""

from __future__ import annotations

import base64
import threading
from collections import OrderedDict
from functools import cache
from typing import Any

import botocore.session

CACHE_SIZE = 1024


@cache
def kms_client() -> Any:
    return botocore.session.get_session().create_client("kms")


def _context(tenant_id: str, endpoint_id: str) -> dict[str, str]:
    return {"tenantId": tenant_id, "endpointId": endpoint_id, "purpose": "webhook-signing-secret"}


class SecretBox:
    def __init__(self, key_id: str, client: Any | None = None) -> None:
        self.key_id = key_id
        self._client = client
        self._plain: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = kms_client()
        return self._client

    def seal(self, secret: str, tenant_id: str, endpoint_id: str) -> str:
        response = self.client.encrypt(
            KeyId=self.key_id,
            Plaintext=secret.encode(),
            EncryptionContext=_context(tenant_id, endpoint_id),
        )
        return base64.b64encode(response["CiphertextBlob"]).decode("ascii")

    def open(self, sealed: str, tenant_id: str, endpoint_id: str) -> str:
        with self._lock:
            known = self._plain.get(sealed)
            if known is not None:
                self._plain.move_to_end(sealed)
                return known
        response = self.client.decrypt(
            CiphertextBlob=base64.b64decode(sealed),
            EncryptionContext=_context(tenant_id, endpoint_id),
        )
        secret = bytes(response["Plaintext"]).decode()
        with self._lock:
            self._plain[sealed] = secret
            while len(self._plain) > CACHE_SIZE:
                self._plain.popitem(last=False)
        return secret
