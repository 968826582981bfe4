"""Reads a WebDataset split as a reader that vpipe did not write would:
Python's tarfile for the shards, json for the .json members, zlib and struct
for the PNG images. Prints one JSON object per sample, in shard order; exits
non-zero (with the reason) on a member a WebDataset reader would misread.

usage: read_shards.py SPLIT_DIR
"""
import glob
import json
import os
import struct
import sys
import tarfile
import zlib


def png_size(data):
    """Decodes a PNG's pixels (8-bit RGB or RGBA, not interlaced): its size."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if zlib.crc32(kind + body) != struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0]:
            raise ValueError("bad CRC in chunk %r" % kind)
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            channels = {2: 3, 6: 4}[ctype]
            assert depth == 8, depth
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    if len(raw) != h * (1 + w * channels):
        raise ValueError("pixels: %d bytes for %dx%d" % (len(raw), w, h))
    return w, h


def main(split_dir):
    out = []
    for shard in sorted(glob.glob(os.path.join(split_dir, "shard-*.tar"))):
        with tarfile.open(shard) as tf:
            members = tf.getmembers()
            if len(members) % 2:
                sys.exit("%s: %d members, not pairs" % (shard, len(members)))
            for img, js in zip(members[::2], members[1::2]):
                for m in (img, js):
                    if m.mode != 0o644 or m.mtime != 0 or m.uid or m.gid or m.uname or m.gname or not m.isfile():
                        sys.exit("%s: %s: header not fixed: mode %o mtime %d uid %d gid %d %r %r"
                                 % (shard, m.name, m.mode, m.mtime, m.uid, m.gid, m.uname, m.gname))
                # WebDataset's reader takes the key up to the first dot.
                key, ext = img.name.split(".", 1)
                jkey, jext = js.name.split(".", 1)
                if key != jkey or jext != "json" or ext not in ("png", "jpg", "jpeg", "webp"):
                    sys.exit("%s: members %s and %s are not one sample" % (shard, img.name, js.name))
                meta = json.loads(tf.extractfile(js).read())
                data = tf.extractfile(img).read()
                w, h = png_size(data) if ext == "png" else (None, None)
                labels = {}
                for o in meta["annotation"]["objects"]:
                    labels[o["classTitle"]] = labels.get(o["classTitle"], 0) + 1
                out.append({"shard": os.path.basename(shard), "key": key, "ext": ext,
                            "name": meta["name"], "dataset": meta["dataset"], "video": meta["video"],
                            "frame_index": meta["frame_index"], "pts": meta["pts"], "time_s": meta["time_s"],
                            "meta": meta["meta"], "png_width": w, "png_height": h,
                            "ann_width": meta["annotation"]["size"]["width"],
                            "ann_height": meta["annotation"]["size"]["height"], "labels": labels})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
