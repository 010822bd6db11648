"""Python side of interop_test.go: the HSAgent_1 crypto_utils algorithms as the
protocol spec (section 4) describes them, on pyca/cryptography. Reads one JSON
request on stdin, writes one JSON answer on stdout."""
import base64, hashlib, json, os, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

b64, unb64 = (lambda b: base64.b64encode(b).decode()), base64.b64decode
canon = lambda o: json.dumps(o, separators=(",", ":"), sort_keys=True)
raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw

req = json.load(sys.stdin)
sign = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(req["py_sign_seed_hex"]))
kx = X25519PrivateKey.from_private_bytes(bytes.fromhex(req["py_kx_hex"]))
out = {"py_sign_pub": b64(sign.public_key().public_bytes(*raw)),
       "py_kx_pub": b64(kx.public_key().public_bytes(*raw))}

# Validate Go's hs (signature over nonce|kx_pub|timestamp), derive the key.
hs = req["go_hs"]
Ed25519PublicKey.from_public_bytes(unb64(hs["sign_pub"])).verify(
    unb64(hs["sig"]), f'{hs["nonce"]}|{hs["kx_pub"]}|{hs["timestamp"]}'.encode())
shared = kx.exchange(X25519PublicKey.from_public_bytes(unb64(hs["kx_pub"])))
key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"handshake").derive(shared)
out["py_session_key_hex"] = key.hex()

# Open Go's sec.
sec = req["go_sec"]
Ed25519PublicKey.from_public_bytes(unb64(hs["sign_pub"])).verify(unb64(sec["sig"]), canon(sec["envelope"]).encode())
env = sec["envelope"]
pt = AESGCM(key).decrypt(unb64(env["nonce"]), unb64(env["ciphertext"]), unb64(env["hash"]))
assert hashlib.sha256(pt).digest() == unb64(env["hash"])
out["py_opened"] = json.loads(pt)

# Seal a sec for Go.
pt = canon(req["py_message"]).encode()
fp = hashlib.sha256(pt).digest()
nonce = os.urandom(12)
env = {"nonce": b64(nonce), "ciphertext": b64(AESGCM(key).encrypt(nonce, pt, fp)), "hash": b64(fp), "ts": "2025-01-01T12:00:01"}
out["py_sec"] = {"envelope": env, "sig": b64(sign.sign(canon(env).encode()))}

# Open Go's identity file; write one for Go.
doc = req["go_identity_file"]
assert doc["v"] == "id.v1" and doc["kdf"] == "scrypt"
k = Scrypt(salt=unb64(doc["salt"]), length=32, n=2**14, r=8, p=1).derive(req["passphrase"].encode())
plain = json.loads(AESGCM(k).decrypt(unb64(doc["nonce"]), unb64(doc["ciphertext"]), unb64(doc["aad"])))
out["py_identity_my_id"] = plain["my_id"]
salt, nonce, aad = os.urandom(16), os.urandom(12), b"HSAgent.identity.v1"
k = Scrypt(salt=salt, length=32, n=2**14, r=8, p=1).derive(req["passphrase"].encode())
plain = {"created_at": "2026-01-02T03:04:05+00:00", "my_id": "11111111-2222-4333-8444-555555555555",
         "sign_priv_b64": b64(sign.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())),
         "sign_pub_b64": out["py_sign_pub"],
         "kx_priv_b64": b64(kx.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())),
         "kx_pub_b64": out["py_kx_pub"]}
out["py_identity_file"] = {"v": "id.v1", "kdf": "scrypt", "salt": b64(salt), "nonce": b64(nonce), "aad": b64(aad),
                           "ciphertext": b64(AESGCM(k).encrypt(nonce, canon(plain).encode(), aad))}

# Canonical JSON of arbitrary values, to compare with Go's encoder.
out["py_canonical"] = [canon(v) for v in req["canonical_inputs"]]
json.dump(out, sys.stdout)
