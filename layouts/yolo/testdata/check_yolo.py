"""Reads a YOLO dataset vpipe wrote as Ultralytics does (data.yaml with
PyYAML, each image's label found by Ultralytics' rule), and holds every line
against the Supervisely project vpipe wrote from the same frames. Written
from the formats' definitions, not from vpipe's code:

  usage: check_yolo.py YOLO_ROOT SUPERVISELY_ROOT TASK

Prints a JSON summary (images per split, lines, skipped labels per class) on
success; exits 1 naming the first difference otherwise.
"""
import base64
import json
import os
import re
import sys
import zlib

import cv2
import numpy as np
import yaml

NUMBER = re.compile(r"^[01]\.\d{6}$")
IMG_FORMATS = {"bmp", "dng", "jpeg", "jpg", "mpo", "png", "tif", "tiff", "webp", "pfm"}


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def label_path(img):
    # Ultralytics' img2label_paths: the last /images/ becomes /labels/, the
    # extension .txt.
    sa, sb = os.sep + "images" + os.sep, os.sep + "labels" + os.sep
    return sb.join(img.rsplit(sa, 1)).rsplit(".", 1)[0] + ".txt"


def bitmap_points(bitmap):
    raw = base64.b64decode(bitmap["data"])
    try:
        raw = zlib.decompress(raw)
    except zlib.error:
        pass
    img = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_UNCHANGED)
    sub = img[:, :, 3] > 0 if img.ndim == 3 and img.shape[2] == 4 else (img.any(axis=2) if img.ndim == 3 else img > 0)
    ys, xs = np.nonzero(sub)
    x, y = bitmap["origin"]
    return [[int(a) + x, int(b) + y] for a, b in zip(xs, ys)]


def label_points(o):
    g = o["geometryType"]
    if g in ("rectangle", "polygon"):
        return o["points"]["exterior"]
    if g == "bitmap":
        return bitmap_points(o["bitmap"])
    return [n["loc"] for n in o["nodes"].values()]


def box(points, w, h):
    # Pixels left..right cover [left, right + 1): centre and size, normalised.
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    l, r, t, b = min(xs), max(xs) + 1, min(ys), max(ys) + 1
    return [(l + r) / 2 / w, (t + b) / 2 / h, (r - l) / w, (b - t) / h]


def expected(o, task, w, h, templates, kpts):
    g = o["geometryType"]
    if task == "detect" and g in ("rectangle", "polygon", "bitmap", "graph"):
        return box(label_points(o), w, h), None
    if task == "segment" and g == "polygon":
        return [c / s for p in o["points"]["exterior"] for c, s in zip(p, (w, h))], None
    if task == "segment" and g == "rectangle":
        (l, t), (r, b) = o["points"]["exterior"]
        return [l / w, t / h, r / w, t / h, r / w, b / h, l / w, b / h], None
    if task == "pose" and g == "graph" and o["classTitle"] in templates:
        nums, vis = box(label_points(o), w, h), []
        for nid in templates[o["classTitle"]]:
            n = o["nodes"].get(nid)
            if n is None or n.get("disabled"):
                nums += [0, 0]
                vis.append(0)
            else:
                nums += [n["loc"][0] / w, n["loc"][1] / h]
                vis.append(2)
        while len(vis) < kpts:
            nums += [0, 0]
            vis.append(0)
        return nums, vis
    return None, None


def check_line(what, line, cls, nums, vis, task):
    f = line.split()
    if f[0] != str(cls):
        fail("%s: class %s, want %d" % (what, f[0], cls))
    vals = f[1:]
    if task == "pose":
        got_vis = [int(v) for v in vals[6::3]]
        coords = vals[:4] + [v for i, v in enumerate(vals[4:]) if i % 3 != 2]
        if got_vis != vis:
            fail("%s: visibilities %r, want %r" % (what, got_vis, vis))
    else:
        coords = vals
    if len(coords) != len(nums) or any(not NUMBER.match(v) for v in coords):
        fail("%s: %r is not %d numbers of [0, 1] with 6 decimals" % (what, line, len(nums)))
    for g, e in zip(coords, nums):
        if abs(float(g) - e) > 6e-7:
            fail("%s: %r, want %r" % (what, line, nums))


def main():
    root, sv_root, task = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(os.path.join(root, "data.yaml")) as f:
        data = yaml.safe_load(f)
    with open(os.path.join(sv_root, "meta.json")) as f:
        meta = json.load(f)
    if data["path"]:
        fail("data.yaml path %r: want it empty (the file's folder)" % data["path"])
    names = [c["title"] for c in meta["classes"]]
    if data["names"] != dict(enumerate(names)):
        fail("names %r, want %r" % (data["names"], dict(enumerate(names))))
    templates = {c["title"]: list(c["geometry_config"]["nodes"]) for c in meta["classes"]
                 if c["shape"] == "graph" and c["geometry_config"].get("nodes")}
    kpts = max([len(t) for t in templates.values()] or [0])
    if task == "pose" and data.get("kpt_shape") != [kpts, 3]:
        fail("kpt_shape %r, want %r" % (data.get("kpt_shape"), [kpts, 3]))
    if task != "pose" and "kpt_shape" in data:
        fail("kpt_shape in a %s dataset" % task)
    splits = {k: v for k, v in data.items() if k not in ("path", "names", "kpt_shape", "nc")}
    summary = {"images": {}, "lines": 0, "skipped": {}}
    for split, rel in splits.items():
        img_dir = os.path.join(root, rel)
        if not os.path.isdir(img_dir):
            fail("split %s: %s is not a folder" % (split, rel))
        n = 0
        for dirpath, _, files in os.walk(img_dir):
            for name in files:
                if name.rsplit(".", 1)[-1].lower() not in IMG_FORMATS:
                    continue
                n += 1
                img = os.path.join(dirpath, name)
                rel_img = os.path.relpath(img, img_dir)
                with open(label_path(img)) as f:
                    lines = f.read().splitlines()
                parts = rel_img.split(os.sep)
                with open(os.path.join(sv_root, "/datasets/".join(parts[:-1]), "ann", parts[-1] + ".json")) as f:
                    sv = json.load(f)
                w, h = sv["size"]["width"], sv["size"]["height"]
                want = []
                for o in sv["objects"]:
                    nums, vis = expected(o, task, w, h, templates, kpts)
                    if nums is None:
                        k = o["classTitle"] + "/" + o["geometryType"]
                        summary["skipped"][k] = summary["skipped"].get(k, 0) + 1
                    else:
                        want.append((o, nums, vis))
                if len(lines) != len(want):
                    fail("%s: %d lines for %d labels" % (rel_img, len(lines), len(want)))
                for k, (line, (o, nums, vis)) in enumerate(zip(lines, want)):
                    check_line("%s line %d (%s)" % (rel_img, k, o["geometryType"]), line, names.index(o["classTitle"]), nums, vis, task)
                summary["lines"] += len(lines)
        summary["images"][split] = n
    print(json.dumps(summary, sort_keys=True))


main()
