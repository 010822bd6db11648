"""Python side of pyref_test.go. Run with the working directory set to a
writable copy of the reference agents/agent_HSAgent_1 and PYTHONPATH holding
the reference kit (shim + summoner). Reads one JSON request on stdin and
writes one JSON answer to the file named by argv[1] (the agent module prints
to stdout on import).

It feeds hsfleet's lines through the reference code itself:
summoner.protocol.payload.recover_with_types (the client's receive path,
including fully_recover_json, the json.loads-every-string hazard), the
agent's receive hook `validation`, `validate_handshake_message` and
`maybe_open_secure`. It also recomputes the golden vectors independently
with pyca/cryptography."""
import asyncio, base64, contextlib, hashlib, hmac, json, sys

req = json.load(sys.stdin)
out_path = sys.argv[1]
sys.argv = ["agent.py", "--name", "gobind"]
with contextlib.redirect_stdout(sys.stderr):
    import agent  # the reference HSAgent_1, unmodified
from summoner.protocol.payload import recover_with_types
from summoner.utils.json_handlers import fully_recover_json
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

canon = lambda o: json.dumps(o, separators=(",", ":"), sort_keys=True)
unb64 = base64.b64decode


class MemStore:
    def __init__(self): self.seen = set()
    def exists(self, n): return n in self.seen
    def is_expired(self, ts): return False
    def add(self, n, ts): self.seen.add(n)


async def main():
    out = {}
    agent.my_id = req["py_id"]  # the hook compares `to` with this global
    # The agent's own switch: no database writes (it has no database open
    # here). It does not change what maybe_open_secure reads.
    agent.PERSIST_CRYPTO = False
    kx = X25519PrivateKey.from_private_bytes(bytes.fromhex(req["py_kx_hex"]))
    contents = {}
    for name, line in req["lines"].items():
        # Exactly what the reference server sends (server.py: json.dumps of
        # remote_addr + content with the trailing newline removed).
        text = json.dumps({"remote_addr": "127.0.0.1:5555", "content": line[:-1] if line.endswith("\n") else line})
        payload = recover_with_types(text)
        kept = await agent.validation(payload)
        out[name + "_hook_kept"] = kept is not None
        contents[name] = payload["content"]

    c = contents["request"]
    peer = c["from"]
    out["request_bind_type"] = type(c["hs"].get("bind")).__name__
    out["request_bind"] = c["hs"].get("bind")
    sym = await agent.validate_handshake_message(
        c["hs"], expected_type="init", expected_nonce=c["my_nonce"],
        nonce_store=MemStore(), priv_kx=kx)
    out["session_key_hex"] = sym.hex()
    agent.SYM_KEYS[("responder", peer)] = sym
    agent.PEER_SIGN_PUB[("responder", peer)] = c["hs"].get("sign_pub", "")
    with contextlib.redirect_stdout(sys.stderr):
        await agent.maybe_open_secure("responder", peer, c)
    out["request_message"] = c.get("message")

    f = contents["finish"]
    out["finish_mac_type"] = type(f.get("mac")).__name__
    out["finish_mac"] = f.get("mac")
    out["finish_your_ref_type"] = type(f.get("your_ref")).__name__

    # json.loads-every-string hazard: our values must come back unchanged.
    out["hazard_unchanged"] = all(
        fully_recover_json(v) == v and isinstance(fully_recover_json(v), str)
        for v in req["hazard_values"])

    # Independent recomputation of the golden vectors.
    vec = req["vectors"]
    names = {"From": "from", "To": "to", "Type": "type", "Echo": "echo", "Nonce": "nonce",
             "KxPub": "kx_pub", "PeerKxPub": "peer_kx_pub", "TS": "ts"}
    out["transcripts_ok"] = []
    for tv in vec["transcripts"]:
        t = {names[k]: v for k, v in tv["in"].items()}
        b = ("hsfleet-hs-bind-v1\n" + canon(t)).encode()
        Ed25519PublicKey.from_public_bytes(unb64(tv["sign_pub"])).verify(unb64(tv["bind"]), b)
        out["transcripts_ok"].append(b.decode() == tv["bytes"])
    h = vec["header"]
    hsf = {"from": h["in"]["From"], "to": h["in"]["To"], "intent": h["in"]["Intent"],
           "my_nonce": h["in"]["MyNonce"], "your_nonce": h["in"]["YourNonce"], "v": "1"}
    out["header_ok"] = canon({"hsf": hsf, "message": h["message"]}) == h["plaintext"]
    fin = vec["finalize"]
    kf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
              info=b"hsfleet finalize v1").derive(bytes.fromhex(fin["session_key_hex"]))
    fields = {"from": fin["in"]["From"], "to": fin["in"]["To"], "intent": fin["in"]["Intent"],
              "your_nonce": fin["in"]["YourNonce"], "your_ref": fin["in"]["YourRef"],
              "my_ref": fin["in"]["MyRef"]}
    mac = hmac.new(kf, ("hsfleet-fin-v1\n" + canon(fields)).encode(), hashlib.sha256).digest()
    out["kf_ok"] = kf.hex() == fin["kf_hex"]
    out["mac_ok"] = base64.b64encode(mac).decode() == fin["mac"]
    with open(out_path, "w") as fh:
        json.dump(out, fh)


asyncio.run(asyncio.wait_for(main(), 30))
