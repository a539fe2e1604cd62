#!/usr/bin/env python3
"""Writes corrupted copies of the demo's weight files for test_bad_inputs.sh
(standard library only): safetensors with a missing / extra key, a wrong
shape or dtype, a truncated file; a torch.save zip with a bad CRC-32 and one
whose pickle names a forbidden global (os.system).
usage: make_bad_weights.py SAFETENSORS PTH OUTDIR"""
import json
import struct
import sys
import zipfile


def read_st(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    return json.loads(b[8:8 + n]), b[8 + n:]


def write_st(path, header, data):
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + data)


def main():
    st, pth, out = sys.argv[1:4]
    header, data = read_st(st)
    names = sorted(k for k in header if k != "__metadata__")
    # missing: drop a key (its bytes stay, unreferenced, which the format allows)
    h = dict(header)
    missing = "text_model.final_layer_norm.bias" if "text_model.final_layer_norm.bias" in h else names[-1]
    del h[missing]
    write_st(f"{out}/missing_key.safetensors", h, data)
    open(f"{out}/missing_key.name", "w").write(missing)
    # extra: a new key sharing nothing (appended bytes)
    h = dict(header)
    extra_off = len(data)
    h["text_model.bogus_extra.weight"] = {"dtype": "F32", "shape": [2], "data_offsets": [extra_off, extra_off + 8]}
    write_st(f"{out}/extra_key.safetensors", h, data + b"\0" * 8)
    # wrong shape: a 2-D tensor with its dims swapped (same byte count)
    h = json.loads(json.dumps(header))
    shaped = next(k for k in names if len(h[k]["shape"]) == 2 and h[k]["shape"][0] != h[k]["shape"][1])
    h[shaped]["shape"] = h[shaped]["shape"][::-1]
    write_st(f"{out}/wrong_shape.safetensors", h, data)
    open(f"{out}/wrong_shape.name", "w").write(shaped)
    # wrong dtype: F32 read as I32 (same byte count)
    h = json.loads(json.dumps(header))
    typed = next(k for k in names if h[k]["dtype"] == "F32")
    h[typed]["dtype"] = "I32"
    write_st(f"{out}/wrong_dtype.safetensors", h, data)
    open(f"{out}/wrong_dtype.name", "w").write(typed)
    # truncated: cut in the data buffer
    b = open(st, "rb").read()
    open(f"{out}/truncated.safetensors", "wb").write(b[: len(b) - len(data) // 2])

    # bad CRC: flip one byte inside the largest stored entry's data
    with zipfile.ZipFile(pth) as z:
        infos = z.infolist()
        big = max(infos, key=lambda i: i.file_size)
        entries = [(i, z.read(i)) for i in infos]
    raw = bytearray(open(pth, "rb").read())
    lh = big.header_offset
    name_len, extra_len = struct.unpack("<HH", raw[lh + 26:lh + 30])
    pos = lh + 30 + name_len + extra_len + big.file_size // 2
    raw[pos] ^= 0xFF
    open(f"{out}/bad_crc.pth", "wb").write(bytes(raw))
    open(f"{out}/bad_crc.name", "w").write(big.filename)
    # forbidden global: data.pkl's first GLOBAL replaced by os.system, CRCs valid
    with zipfile.ZipFile(f"{out}/forbidden_global.pth", "w", zipfile.ZIP_STORED) as z:
        for i, d in entries:
            if i.filename.endswith("data.pkl"):
                assert b"collections\nOrderedDict\n" in d, "no OrderedDict GLOBAL in data.pkl"
                d = d.replace(b"collections\nOrderedDict\n", b"os\nsystem\n", 1)
            z.writestr(i.filename, d)


if __name__ == "__main__":
    main()
