#!/usr/bin/python3
"""Encode a protobuf text-format fixture into a Kubernetes protobuf body (magic + runtime.Unknown).

Usage: encode_fixture.py FILE.txtpb...   (writes FILE.pb next to each input)
The first line of each input is a header:  # MESSAGE_FULL_NAME API_VERSION KIND
Needs protoc; the message is encoded with the descriptor set k8s.pb.bin next to this script.
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number, payload):
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def proto_file(message):
    package = message.rsplit(".", 1)[0]
    if package.startswith("k8s.io.api."):
        return "k8s.io/api/" + package[len("k8s.io.api."):].replace(".", "/") + "/generated.proto"
    return "k8s.io/apimachinery/" + package[len("k8s.io.apimachinery."):].replace(".", "/") + "/generated.proto"


def main():
    for path in sys.argv[1:]:
        with open(path) as f:
            header = f.readline().split()
            text = f.read()
        _, message, api_version, kind = header
        raw = subprocess.run(
            ["protoc", "--descriptor_set_in=" + os.path.join(HERE, "k8s.pb.bin"),
             "--encode=" + message, proto_file(message)],
            input=text.encode(), check=True, capture_output=True).stdout
        type_meta = field(1, api_version.encode()) + field(2, kind.encode())
        body = b"k8s\x00" + field(1, type_meta) + field(2, raw)
        with open(path[: -len(".txtpb")] + ".pb", "wb") as f:
            f.write(body)


if __name__ == "__main__":
    main()
