"""Reads a COCO dataset vpipe wrote, with Python's json, numpy and OpenCV, and
holds every annotation against the Supervisely project vpipe wrote from the
same frames. Written from the formats' definitions, not from vpipe's code:

  usage: check_coco.py COCO_ROOT SUPERVISELY_ROOT

Prints a JSON summary (images, annotations, skipped labels per class) on
success; exits 1 naming the first difference otherwise.
"""
import base64
import json
import os
import sys
import zlib

import cv2
import numpy as np


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def sv_ann_path(sv_root, file_name):
    # file_name is <dataset path>/<video>/<image>; the project layout nests
    # datasets under <parent>/datasets/<child>.
    parts = file_name.split("/")
    return os.path.join(sv_root, "/datasets/".join(parts[:-1]), "ann", parts[-1] + ".json")


def rle_decode(seg, h, w):
    if sorted(seg) != ["counts", "size"] or seg["size"] != [h, w]:
        fail("RLE %r is not {size: [%d, %d], counts: [...]}" % (list(seg), h, w))
    flat = np.zeros(h * w, dtype=np.uint8)
    pos, val = 0, 0
    for n in seg["counts"]:
        flat[pos:pos + n] = val
        pos += n
        val = 1 - val
    if pos != h * w:
        fail("RLE counts add up to %d, not %d" % (pos, h * w))
    return flat.reshape((h, w), order="F")  # column-major, as pycocotools


def sdk_polygon_mask(points, h, w):
    # The Supervisely SDK's Polygon._draw_impl: fillPoly of the exterior with
    # 1, then of the holes with 0, on (col, row) points.
    m = np.zeros((h, w), np.uint8)
    cv2.fillPoly(m, [np.array(points["exterior"], np.int32)], 1)
    if points["interior"]:
        cv2.fillPoly(m, [np.array(r, np.int32) for r in points["interior"]], 0)
    return m


def bitmap_mask(bitmap, h, w):
    raw = base64.b64decode(bitmap["data"])
    try:
        raw = zlib.decompress(raw)
    except zlib.error:
        pass
    img = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_UNCHANGED)
    if img.ndim == 3 and img.shape[2] == 4:
        sub = img[:, :, 3] > 0
    elif img.ndim == 3:
        sub = img.any(axis=2)
    else:
        sub = img > 0
    x, y = bitmap["origin"]
    m = np.zeros((h, w), np.uint8)
    m[y:y + sub.shape[0], x:x + sub.shape[1]] = sub[: h - y, : w - x]
    return m


def box_of(xs, ys):
    return [min(xs), min(ys), max(xs) - min(xs) + 1, max(ys) - min(ys) + 1]


def mask_box(m):
    ys, xs = np.nonzero(m)
    return box_of(xs.tolist(), ys.tolist())


def tags_as_attributes(tags):
    out = {}
    for t in tags:
        v = t.get("value", True)
        if t["name"] in out:
            prev = out[t["name"]]
            out[t["name"]] = (prev if isinstance(prev, list) else [prev]) + [v]
        else:
            out[t["name"]] = v
    return out


def check_object(what, obj, a, meta_classes, h, w):
    shape = obj["geometryType"]
    if a["iscrowd"] != 0:
        fail("%s: iscrowd %r" % (what, a["iscrowd"]))
    if a["attributes"] != tags_as_attributes(obj["tags"]) or "object_id" not in a["attributes"]:
        fail("%s: attributes %r, tags %r" % (what, a["attributes"], obj["tags"]))
    pts = obj.get("points")
    if shape == "rectangle":
        (l, t), (r, b) = pts["exterior"]
        want = [l, t, r - l + 1, b - t + 1]
        if a["bbox"] != want or a["area"] != want[2] * want[3] or a["segmentation"] != [[l, t, r, t, r, b, l, b]]:
            fail("%s: %r, want bbox %r" % (what, a, want))
    elif shape == "polygon" and not pts["interior"]:
        flat = [c for p in pts["exterior"] for c in p]
        want = box_of(flat[0::2], flat[1::2])
        if a["segmentation"] != [flat] or a["bbox"] != want:
            fail("%s: segmentation %r bbox %r, want %r %r" % (what, a["segmentation"], a["bbox"], [flat], want))
        # area: the pixels the SDK fills (OpenCV agrees with vpipe's count on
        # these axis-aligned and 45-degree edges).
        if a["area"] != int(sdk_polygon_mask(pts, h, w).sum()):
            fail("%s: area %r, the SDK fills %d pixels" % (what, a["area"], sdk_polygon_mask(pts, h, w).sum()))
    elif shape in ("polygon", "bitmap"):
        want = sdk_polygon_mask(pts, h, w) if shape == "polygon" else bitmap_mask(obj["bitmap"], h, w)
        got = rle_decode(a["segmentation"], h, w)
        if not np.array_equal(got, want):
            fail("%s: the RLE differs from the label's mask at %d pixels" % (what, int((got != want).sum())))
        if a["area"] != int(want.sum()) or a["bbox"] != mask_box(want):
            fail("%s: area %r bbox %r, want %d %r" % (what, a["area"], a["bbox"], want.sum(), mask_box(want)))
    elif shape == "graph":
        nodes = obj["nodes"]
        template = meta_classes[obj["classTitle"]]["geometry_config"]["nodes"]
        kp, vis = [], 0
        for nid in template:  # json keeps the template's order
            n = nodes.get(nid)
            if n is None or n.get("disabled"):
                kp += [0, 0, 0]
            else:
                kp += [n["loc"][0], n["loc"][1], 2]
                vis += 1
        locs = [n["loc"] for n in nodes.values()]
        want = box_of([p[0] for p in locs], [p[1] for p in locs])
        if a["keypoints"] != kp or a["num_keypoints"] != vis or a["bbox"] != want or a["segmentation"] != []:
            fail("%s: %r, want keypoints %r (%d) bbox %r" % (what, a, kp, vis, want))
    else:
        fail("%s: a %s label became an annotation" % (what, shape))


def check_categories(cats, meta):
    if [c["id"] for c in cats] != list(range(1, len(meta["classes"]) + 1)):
        fail("category ids %r" % [c["id"] for c in cats])
    for c, cl in zip(cats, meta["classes"]):
        if c["name"] != cl["title"]:
            fail("category %r for class %r" % (c, cl["title"]))
        if cl["shape"] == "graph":
            nodes = cl["geometry_config"]["nodes"]
            ids = list(nodes)
            labels = [n.get("label", i) for i, n in nodes.items()]
            skel = [[ids.index(e["src"]) + 1, ids.index(e["dst"]) + 1] for e in cl["geometry_config"]["edges"]]
            if c["keypoints"] != labels or c["skeleton"] != skel:
                fail("category %r: want keypoints %r skeleton %r" % (c, labels, skel))


def check_split(root, sv_root, path, meta, summary):
    split = os.path.basename(path)[len("instances_"):-len(".json")]
    with open(path) as f:
        coco = json.load(f)
    if sorted(coco) != ["annotations", "categories", "images", "info", "licenses"]:
        fail("%s: keys %r" % (path, sorted(coco)))
    check_categories(coco["categories"], meta)
    classes = {c["title"]: c for c in meta["classes"]}
    images = {im["id"]: im for im in coco["images"]}
    if len(images) != len(coco["images"]) or sorted(images) != list(range(1, len(images) + 1)):
        fail("%s: image ids %r" % (path, sorted(images)))
    by_image = {}
    ann_ids = [a["id"] for a in coco["annotations"]]
    if ann_ids != list(range(1, len(ann_ids) + 1)):
        fail("%s: annotation ids %r" % (path, ann_ids))
    for a in coco["annotations"]:
        if a["image_id"] not in images:
            fail("%s: annotation %d of unknown image %r" % (path, a["id"], a["image_id"]))
        by_image.setdefault(a["image_id"], []).append(a)
    for iid, im in images.items():
        if not os.path.isfile(os.path.join(root, "images", split, im["file_name"])):
            fail("%s: image %r is not in images/%s/" % (path, im["file_name"], split))
        with open(sv_ann_path(sv_root, im["file_name"])) as f:
            sv = json.load(f)
        h, w = sv["size"]["height"], sv["size"]["width"]
        parts = im["file_name"].split("/")
        if (im["width"], im["height"], im["video"], im["dataset"]) != (w, h, parts[-2], "/".join(parts[:-2])):
            fail("%s: image %r" % (path, im))
        carried = [o for o in sv["objects"] if o["geometryType"] in ("rectangle", "polygon", "bitmap", "graph")]
        for o in sv["objects"]:
            if o not in carried:
                summary["skipped"][o["classTitle"] + "/" + o["geometryType"]] = summary["skipped"].get(o["classTitle"] + "/" + o["geometryType"], 0) + 1
        got = by_image.get(iid, [])
        if len(got) != len(carried):
            fail("%s: %s has %d annotations for %d labels" % (path, im["file_name"], len(got), len(carried)))
        for k, (o, a) in enumerate(zip(carried, got)):
            if coco["categories"][a["category_id"] - 1]["name"] != o["classTitle"]:
                fail("%s: %s label %d: category %r, class %r" % (path, im["file_name"], k, a["category_id"], o["classTitle"]))
            check_object("%s label %d (%s)" % (im["file_name"], k, o["geometryType"]), o, a, classes, h, w)
            summary["shapes"][o["geometryType"]] = summary["shapes"].get(o["geometryType"], 0) + 1
    summary["images"][split] = len(images)
    summary["annotations"] += len(coco["annotations"])


def main():
    root, sv_root = sys.argv[1], sys.argv[2]
    with open(os.path.join(root, ".vpipe", "meta.json")) as f:
        meta = json.load(f)
    summary = {"images": {}, "annotations": 0, "skipped": {}, "shapes": {}}
    ann_dir = os.path.join(root, "annotations")
    for name in sorted(os.listdir(ann_dir)):
        check_split(root, sv_root, os.path.join(ann_dir, name), meta, summary)
    print(json.dumps(summary, sort_keys=True))


main()
