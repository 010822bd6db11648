"""Checks the relay byte for byte against what the reference Python server
would send: json.dumps({"remote_addr": addr, "content": line}) + "\n".

Usage: python3 python_interop.py HOST PORT
Exits non-zero on the first mismatch. Standard library only.
"""
import asyncio
import json
import random
import sys


def format_addr(sockname):
    host, port = sockname[0], sockname[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def main(host, port):
    rng = random.Random(7)
    alphabet = ['a', 'Z', '0', ' ', '"', '\\', '/', '\t', '\r', '\x00', '\x1f', '\x7f',
                '\u00e9', '\u20ac', '\ufeff', '\U0001F600', '\u2028', '{', '}', ':']
    lines = ["", "hello world", "from to intent",
             '{"_version": "1.3.0", "_payload": {"to": null, "intent": "register", "from": "d8045fd9"}, '
             '"_type": {"to": "null", "intent": "str", "from": "str"}}']
    lines += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60))) for _ in range(300)]

    # The receiver connects first: the relay accepts and registers clients in
    # order, and reads a client's lines only once it is registered, so the
    # receiver is sure to be there for the sender's first line.
    r_recv, w_recv = await asyncio.open_connection(host, port)
    r_send, w_send = await asyncio.open_connection(host, port)
    sender_addr = format_addr(w_send.get_extra_info("sockname"))
    for line in lines:
        w_send.write((line + "\n").encode())
    await w_send.drain()
    for i, line in enumerate(lines):
        got = await asyncio.wait_for(r_recv.readline(), timeout=10)
        want = (json.dumps({"remote_addr": sender_addr, "content": line}) + "\n").encode()
        if got != want:
            print(f"line {i}: got  {got!r}\n        want {want!r}", file=sys.stderr)
            return 1
        decoded = json.loads(got)
        if decoded["content"] != line:
            print(f"line {i}: content does not round-trip", file=sys.stderr)
            return 1
    w_send.close()
    w_recv.close()
    print(f"ok: {len(lines)} lines byte-identical to the Python server's json.dumps")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], int(sys.argv[2]))))
