"""Renders polygons as the Supervisely SDK does (Polygon._draw_impl: OpenCV's
fillPoly of the exterior with 1, then of all holes with 0) and compares each
with the mask vpipe made.

  usage: fillpoly.py CASES.json

CASES.json: {"w": W, "h": H, "cases": [{"exterior": [[x, y], ...],
"interior": [[[x, y], ...], ...], "mask": "0101..." (row-major, W*H)}]}.
Prints {"cases": N, "mismatches": [{"case": i, "pixels": n}, ...]}.
"""
import json
import sys

import cv2
import numpy as np

with open(sys.argv[1]) as f:
    spec = json.load(f)
w, h = spec["w"], spec["h"]
bad = []
for i, c in enumerate(spec["cases"]):
    m = np.zeros((h, w), np.uint8)
    cv2.fillPoly(m, pts=[np.array(c["exterior"], np.int32)], color=1)
    if c["interior"]:
        cv2.fillPoly(m, pts=[np.array(r, np.int32) for r in c["interior"]], color=0)
    got = np.frombuffer(c["mask"].encode(), np.uint8).reshape((h, w)) - ord("0")
    n = int((got != m).sum())
    if n:
        bad.append({"case": i, "pixels": n})
print(json.dumps({"cases": len(spec["cases"]), "mismatches": bad}))
