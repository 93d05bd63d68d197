"""The venue's published signing examples, byte for byte, and the rules around them."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from hypothesis import given
from hypothesis import strategies as st

from adapters.brokers.binance.signing import (
    Ed25519Signer,
    HmacSigner,
    encode_params,
    rest_payload,
    signer_for,
    ws_payload,
)

API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
R2 = "e1353ec6b14d888f1164ae9af8228a3dbd508bc82eb867db8ab6046442f33ef3"
R3 = "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77"
W1 = "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"


def test_r1_query_string() -> None:
    query = encode_params(
        [
            ("symbol", "LTCBTC"),
            ("side", "BUY"),
            ("type", "LIMIT"),
            ("timeInForce", "GTC"),
            ("quantity", 1),
            ("price", "0.1"),
            ("recvWindow", 5000),
            ("timestamp", 1499827319559),
        ]
    )
    assert query == (
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
        "&recvWindow=5000&timestamp=1499827319559"
    )
    assert HmacSigner(SECRET).sign(rest_payload(query)) == (
        "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    )


def test_r2_non_ascii_symbol_is_percent_encoded_before_signing() -> None:
    query = encode_params(
        [
            ("symbol", "１２３４５６"),
            ("side", "BUY"),
            ("type", "LIMIT"),
            ("timeInForce", "GTC"),
            ("quantity", "1"),
            ("price", "0.1"),
            ("recvWindow", "5000"),
            ("timestamp", "1499827319559"),
        ]
    )
    assert query.startswith("symbol=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96&")
    assert HmacSigner(SECRET).sign(query) == R2


def test_r3_query_and_body_are_joined_without_separator() -> None:
    payload = rest_payload(
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC",
        "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559",
    )
    assert "GTCquantity" in payload
    assert HmacSigner(SECRET).sign(payload) == R3


W1_PARAMS = {
    "symbol": "BTCUSDT",
    "side": "SELL",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.01000000",
    "price": "52000.00",
    "recvWindow": 100,
    "timestamp": 1645423376532,
    "apiKey": API_KEY,
    "signature": "ignored: never part of what is signed",
}


def test_w1_params_sorted_by_name() -> None:
    payload = ws_payload(W1_PARAMS)
    assert payload == (
        f"apiKey={API_KEY}&price=52000.00&quantity=0.01000000&recvWindow=100&side=SELL"
        "&symbol=BTCUSDT&timeInForce=GTC&timestamp=1645423376532&type=LIMIT"
    )
    assert HmacSigner(SECRET).sign(payload) == W1


def test_w2_non_ascii_is_not_percent_encoded() -> None:
    params = {
        "symbol": "１２３４５６",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "1.00000000",
        "price": "0.10000000",
        "recvWindow": 5000,
        "timestamp": 1645423376532,
        "apiKey": API_KEY,
    }
    assert "symbol=１２３４５６" in ws_payload(params)
    assert HmacSigner(SECRET).sign(ws_payload(params)) == (
        "b33892ae8e687c939f4468c6268ddd4c40ac1af18ad19a064864c47bae0752cd"
    )


def test_hmac_verification_ignores_hex_case_and_refuses_a_changed_payload() -> None:
    signer = HmacSigner(SECRET)
    signature = signer.sign("a=1")
    assert signer.verify("a=1", signature.upper())
    assert not signer.verify("a=2", signature)


def test_reprs_never_show_the_secret() -> None:
    assert SECRET not in repr(HmacSigner(SECRET))
    pem = _pem(Ed25519PrivateKey.generate())
    assert "PRIVATE" not in repr(Ed25519Signer(pem))


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        HmacSigner("")


def _pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()


def test_ed25519_signature_is_base64_and_verifies_with_the_public_key() -> None:
    key = Ed25519PrivateKey.generate()
    signer = signer_for(_pem(key))
    assert signer.kind == "ed25519"
    signature = signer.sign(ws_payload(W1_PARAMS))
    public: Ed25519PublicKey = key.public_key()
    public.verify(base64.b64decode(signature), ws_payload(W1_PARAMS).encode())  # raises if wrong


def test_a_pem_that_is_not_a_key_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValueError, match="not an unencrypted PEM Ed25519 private key") as caught:
        signer_for("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    assert "not a key" not in str(caught.value)


@given(st.dictionaries(st.text(min_size=1).filter(lambda k: k != "signature"), st.text(), max_size=8))
def test_ws_payload_does_not_depend_on_insertion_order(params: dict[str, str]) -> None:
    reversed_params = dict(reversed(list(params.items())))
    assert ws_payload(params) == ws_payload(reversed_params)
