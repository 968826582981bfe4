#!/usr/bin/python3
"""The Python module's algorithm (supervisely.video.sampling, reference §7) as a
local job, for the bench: decode every frame to RGB with PyAV (FFmpeg's threads),
take every STEP-th, resize with cv2.INTER_LINEAR when asked, then RGB -> BGR and
cv2.imencode(".png") (OpenCV's default PNG settings, as the module calls it) on 4
writer threads (cv2 lets go of the GIL while it encodes), at most 8 frames in
flight. Writes OUT/frame_%06d.png.

usage: bench/module.py VIDEO OUT [STEP] [WIDTHxHEIGHT]
Needs Debian's python3-av and python3-opencv (bench/bench.sh installs them).
"""
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import av
import cv2


def main():
    video, out = sys.argv[1], sys.argv[2]
    step = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    size = None
    if len(sys.argv) > 4:
        w, h = sys.argv[4].split("x")
        size = (int(w), int(h))
    os.makedirs(out, exist_ok=True)
    slots = threading.BoundedSemaphore(8)

    def write(i, rgb):
        try:
            ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
            if not ok:
                raise RuntimeError(f"frame {i}: cv2.imencode failed")
            with open(os.path.join(out, f"frame_{i:06d}.png"), "wb") as f:
                f.write(buf.tobytes())
        finally:
            slots.release()

    with av.open(video) as c, ThreadPoolExecutor(4) as pool:
        stream = c.streams.video[0]
        stream.thread_type = "AUTO"
        futures = []
        for i, frame in enumerate(c.decode(stream)):
            if i % step:
                continue
            rgb = frame.to_ndarray(format="rgb24")
            if size:
                rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_LINEAR)
            slots.acquire()
            futures.append(pool.submit(write, i, rgb))
        for f in futures:
            f.result()


if __name__ == "__main__":
    main()
