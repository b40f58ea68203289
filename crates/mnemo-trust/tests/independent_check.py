#!/usr/bin/env python3
"""Checks a mnemo-trust signed checkpoint without any Rust code.

Usage: independent_check.py DIR

DIR holds `vkeys` (C2SP verifier keys, one per line) and `checkpoint` (a C2SP
signed note), as `cargo run -p mnemo-trust --example sign_fixture -- DIR`
writes them. From the specs alone (c2sp.org/signed-note,
c2sp.org/tlog-checkpoint, c2sp.org/tlog-cosignature, and the ML-DSA-65 line
defined in mnemo-trust's crate docs) this script

  * parses the vkeys and recomputes every key ID,
  * parses the note and its checkpoint body,
  * verifies the Ed25519 signature over the body (`cryptography`),
  * rebuilds the `subtree/v1` cosigned_message and verifies the ML-DSA-44
    timestamped signature (`dilithium-py`, pure FIPS 204, empty context),
  * does the same for the ML-DSA-65 line when the vkeys have that key,
  * checks that tampered copies (body, root, each signature, timestamp) fail,
  * and, if DIR also has `private` (written with `--private`), checks that
    each seed derives the published key and key ID.

It does not re-sign to compare signature bytes: mnemo-trust's native ML-DSA
signing (AWS-LC) is hedged, FIPS 204's default, so each signature has fresh
randomness and no other signer can reproduce it; verifying it is the check.

Exit status 0 when everything holds; 1 with a message otherwise; 2 on usage
errors or missing packages (`pip install cryptography dilithium-py`).
"""

import base64
import hashlib
import os
import sys

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    from dilithium_py.ml_dsa import ML_DSA_44, ML_DSA_65
except ImportError as e:  # pragma: no cover - environment problem
    print(f"missing package ({e}); pip install cryptography dilithium-py", file=sys.stderr)
    sys.exit(2)

EM_DASH = "\u2014"
ED25519 = b"\x01"
ML_DSA_44_TYPE = b"\x06"
ML_DSA_65_TYPE = b"\xffmnemo-ml-dsa-65/v1"
SUBTREE_LABEL = b"subtree/v1\n\x00"
ML_DSA_65_LABEL = b"mnemo-mldsa65/v1\n\x00"
TYPES = {"ed25519": ED25519, "ml-dsa-44": ML_DSA_44_TYPE, "ml-dsa-65": ML_DSA_65_TYPE}
PK_LEN = {"ed25519": 32, "ml-dsa-44": 1312, "ml-dsa-65": 1952}
SIG_LEN = {"ed25519": 64, "ml-dsa-44": 8 + 2420, "ml-dsa-65": 8 + 3309}


class CheckFailed(Exception):
    pass


def b64decode(text):
    # validate=True: no characters outside the alphabet; re-encoding
    # catches non-canonical padding bits.
    raw = base64.b64decode(text, validate=True)
    if base64.b64encode(raw).decode() != text:
        raise CheckFailed(f"non-canonical base64: {text[:20]}...")
    return raw


def key_id(name, type_bytes, pk):
    return hashlib.sha256(name.encode() + b"\n" + type_bytes + pk).digest()[:4]


def kind_of(material):
    # Longest type first: 0xff types carry an identifier after the byte.
    for kind, type_bytes in sorted(TYPES.items(), key=lambda kv: -len(kv[1])):
        if material.startswith(type_bytes):
            return kind, material[len(type_bytes):]
    raise CheckFailed(f"unknown key type 0x{material[:1].hex()}")


def parse_vkeys(text):
    keys = {}
    name = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key_name, id_hex, material_b64 = line.split("+", 2)
        material = b64decode(material_b64)
        kind, pk = kind_of(material)
        if len(pk) != PK_LEN[kind]:
            raise CheckFailed(f"{kind} vkey: {len(pk)}-byte key")
        if key_id(key_name, TYPES[kind], pk).hex() != id_hex:
            raise CheckFailed(f"{kind} vkey: key ID {id_hex} is not SHA-256(name||0x0A||type||pk)[:4]")
        if name is not None and key_name != name:
            raise CheckFailed("vkeys with different names")
        if kind in keys:
            raise CheckFailed(f"two {kind} vkeys")
        name = key_name
        keys[kind] = pk
    if "ed25519" not in keys or "ml-dsa-44" not in keys:
        raise CheckFailed("vkeys need an Ed25519 and an ML-DSA-44 key")
    return name, keys


def parse_note(note):
    if any(ord(c) < 0x20 and c != "\n" for c in note):
        raise CheckFailed("control character in note")
    if not note.endswith("\n"):
        raise CheckFailed("note does not end with a newline")
    split = note.rfind("\n\n")
    if split < 0:
        raise CheckFailed("no empty line before the signatures")
    text = note[: split + 1]
    signatures = []
    for line in note[split + 2 :].splitlines():
        if not line.startswith(EM_DASH + " "):
            raise CheckFailed(f"bad signature line: {line[:40]}")
        name, sig_b64 = line[2:].split(" ", 1)
        raw = b64decode(sig_b64)
        if len(raw) < 5:
            raise CheckFailed("signature line too short")
        signatures.append((name, raw[:4], raw[4:]))
    if not signatures:
        raise CheckFailed("no signature lines")
    return text, signatures


def parse_checkpoint(text):
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckFailed("checkpoint has fewer than three lines")
    origin, size, root_b64 = lines[:3]
    if not origin or not size.isdigit() or (len(size) > 1 and size[0] == "0"):
        raise CheckFailed("bad checkpoint origin or size")
    root = b64decode(root_b64)
    if len(root) != 32:
        raise CheckFailed("root is not 32 bytes")
    if any(not ext for ext in lines[3:]):
        raise CheckFailed("empty extension line")
    return origin, int(size), root


def cosigned_message(label, name, timestamp, origin, size, root):
    name_b, origin_b = name.encode(), origin.encode()
    if not (1 <= len(name_b) <= 255 and 1 <= len(origin_b) <= 255):
        raise CheckFailed("name or origin length outside 1..255")
    return (
        label
        + bytes([len(name_b)]) + name_b
        + timestamp.to_bytes(8, "big")
        + bytes([len(origin_b)]) + origin_b
        + (0).to_bytes(8, "big")  # start
        + size.to_bytes(8, "big")  # end
        + root
    )


def verify(vkeys_text, note):
    """Returns (origin, size, timestamp) or raises CheckFailed."""
    name, keys = parse_vkeys(vkeys_text)
    text, signatures = parse_note(note)
    origin, size, root = parse_checkpoint(text)
    ids = {kind: key_id(name, TYPES[kind], pk) for kind, pk in keys.items()}
    found = {}
    for sig_name, sig_id, sig in signatures:
        for kind, kid in ids.items():
            if sig_name == name and sig_id == kid:
                if kind in found:
                    raise CheckFailed(f"two {kind} signatures")
                found[kind] = sig
    for kind in keys:
        if kind not in found:
            raise CheckFailed(f"no {kind} signature")
        if len(found[kind]) != SIG_LEN[kind]:
            raise CheckFailed(f"{kind} signature has the wrong length")

    try:
        Ed25519PublicKey.from_public_bytes(keys["ed25519"]).verify(found["ed25519"], text.encode())
    except InvalidSignature:
        raise CheckFailed("Ed25519 signature does not verify") from None

    timestamps = {}
    for kind, label, scheme in (
        ("ml-dsa-44", SUBTREE_LABEL, ML_DSA_44),
        ("ml-dsa-65", ML_DSA_65_LABEL, ML_DSA_65),
    ):
        if kind not in keys:
            continue
        sig = found[kind]
        timestamp = int.from_bytes(sig[:8], "big")
        if timestamp > 2**63 - 1:
            raise CheckFailed(f"{kind} timestamp above 2^63-1")
        message = cosigned_message(label, name, timestamp, origin, size, root)
        if not scheme.verify(keys[kind], message, sig[8:], ctx=b""):
            raise CheckFailed(f"{kind} signature does not verify")
        timestamps[kind] = timestamp
    if len(set(timestamps.values())) != 1:
        raise CheckFailed("ML-DSA timestamps differ")
    return origin, size, timestamps["ml-dsa-44"]


def check_private(private_text, vkeys_text):
    name, keys = parse_vkeys(vkeys_text)
    seen = set()
    for line in private_text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not line.startswith("PRIVATE+KEY+"):
            raise CheckFailed("private key line without PRIVATE+KEY+")
        key_name, id_hex, material_b64 = line[len("PRIVATE+KEY+"):].split("+", 2)
        kind, seed = kind_of(b64decode(material_b64))
        if key_name != name or len(seed) != 32:
            raise CheckFailed(f"{kind} private key: wrong name or seed length")
        if kind == "ed25519":
            pk = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
                Encoding.Raw, PublicFormat.Raw
            )
        else:
            # FIPS 204 ML-DSA.KeyGen_internal(seed). No byte-for-byte
            # re-signing: the note's ML-DSA signatures are hedged (see the
            # docstring), so verify() checking them is what counts.
            scheme = ML_DSA_44 if kind == "ml-dsa-44" else ML_DSA_65
            pk, _sk = scheme.key_derive(seed)
        if pk != keys.get(kind):
            raise CheckFailed(f"{kind} private key does not derive the published key")
        if key_id(name, TYPES[kind], pk).hex() != id_hex:
            raise CheckFailed(f"{kind} private key line has the wrong key ID")
        seen.add(kind)
    if seen != set(keys):
        raise CheckFailed("private key file and vkeys hold different key sets")


def tampered_copies(note):
    """(description, note) pairs that must all fail."""
    split = note.rfind("\n\n")
    text = note[: split + 1]
    lines = note[split + 2 :].splitlines()
    # ["origin", "size", "root", ...extensions, ""]: joined with "\n" it
    # ends in the newline of the last body line.
    body = text.split("\n")
    copies = []
    bumped = body.copy()
    bumped[1] = str(int(bumped[1]) + 1)
    copies.append(("size + 1", "\n".join(bumped) + "\n" + "\n".join(lines) + "\n"))
    root = bytearray(base64.b64decode(body[2]))
    root[0] ^= 1
    rooted = body.copy()
    rooted[2] = base64.b64encode(bytes(root)).decode()
    copies.append(("root bit flip", "\n".join(rooted) + "\n" + "\n".join(lines) + "\n"))
    for i, line in enumerate(lines):
        name, sig_b64 = line[2:].split(" ", 1)
        raw = bytearray(base64.b64decode(sig_b64))
        for at, what in ((len(raw) - 1, "last byte"), (4, "first byte after the key ID")):
            flipped = bytearray(raw)
            flipped[at] ^= 1
            new_lines = lines.copy()
            new_lines[i] = f"{EM_DASH} {name} {base64.b64encode(bytes(flipped)).decode()}"
            copies.append((f"signature line {i + 1}, {what}", text + "\n" + "\n".join(new_lines) + "\n"))
    copies.append(("Ed25519 line dropped", text + "\n" + "\n".join(lines[1:]) + "\n"))
    copies.append(("ML-DSA-44 line dropped", text + "\n" + "\n".join(lines[:1] + lines[2:]) + "\n"))
    return copies


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    directory = sys.argv[1]
    with open(os.path.join(directory, "vkeys"), encoding="utf-8") as f:
        vkeys_text = f.read()
    with open(os.path.join(directory, "checkpoint"), encoding="utf-8") as f:
        note = f.read()
    try:
        origin, size, timestamp = verify(vkeys_text, note)
    except (CheckFailed, ValueError) as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    kinds = sorted(parse_vkeys(vkeys_text)[1])
    print(f"ok: {origin} size {size} timestamp {timestamp}, verified {', '.join(kinds)}")

    private_path = os.path.join(directory, "private")
    if os.path.exists(private_path):
        with open(private_path, encoding="utf-8") as f:
            private_text = f.read()
        try:
            check_private(private_text, vkeys_text)
        except (CheckFailed, ValueError) as e:
            print(f"FAIL: private key file: {e}", file=sys.stderr)
            return 1
        print("ok: private seeds derive the published keys")

    failures = 0
    for description, copy in tampered_copies(note):
        try:
            verify(vkeys_text, copy)
        except (CheckFailed, ValueError):
            continue
        print(f"FAIL: tampered copy accepted: {description}", file=sys.stderr)
        failures += 1
    if failures:
        return 1
    print(f"ok: {len(tampered_copies(note))} tampered copies rejected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
