# Cross-check only, never run by the tests: `python3 sdkcrop.py < cases.jsonl` with
# shapely installed prints the SDK's crop of each case, to compare with vpipe's
# (supervisely/crop/crop_test.go states the rules and its expected values).
# The SDK's Polygon.crop / Polyline.crop / Label.crop, copied from
# supervisely/geometry/{polygon,polyline,conversions,point_location}.py (v6.74.28),
# with PointLocation reduced to floor(). Input/Output in JSON [x, y] form.
import itertools, json, sys
from math import floor
from shapely.geometry import Polygon as ShapelyPolygon, LineString, mapping

def _clear_dupe_start_end_boundary(coords_list):
    return coords_list if len(coords_list) < 2 or coords_list[0] != coords_list[-1] else coords_list[:-1]
def _clear_dupe_start_end_multi_polygon(multi_polygon):
    return [[_clear_dupe_start_end_boundary(boundary) for boundary in polygon] for polygon in multi_polygon]
def shapely_figure_to_coords_list(mp):
    mp_type = mp['type']
    if mp_type == 'MultiLineString': return mp['coordinates']
    elif mp_type == 'LineString': return [mp['coordinates']]
    elif mp_type == 'Polygon': return _clear_dupe_start_end_multi_polygon([mp['coordinates']])
    elif mp_type == 'GeometryCollection':
        return list(itertools.chain.from_iterable(shapely_figure_to_coords_list(g) for g in mp['geometries']))
    elif mp_type == 'MultiPolygon': return _clear_dupe_start_end_multi_polygon(mp['coordinates'])
    else: return []
def pl(r, c): return (floor(r), floor(c))  # PointLocation
def row_col_list_to_points(data, do_round=False):
    m = (lambda v: round(v)) if do_round else (lambda v: v)
    return [pl(m(r), m(c)) for r, c in data]
def pad(ring):
    ring = list(ring)
    if len(ring) < 3: ring.extend([ring[-1]] * (3 - len(ring)))
    return ring

def inside(pts, h, w):
    rows = [p[0] for p in pts]; cols = [p[1] for p in pts]
    return 0 <= min(cols) and max(cols) <= w - 1 and 0 <= min(rows) and max(rows) <= h - 1

def crop_polygon(ext, ints, h, w):
    ext = pad([pl(y, x) for x, y in ext]); ints = [pad([pl(y, x) for x, y in r]) for r in ints]
    if inside(ext, h, w): return [(ext, ints)]
    top, left, bottom, right = 0, 0, h - 1, w - 1
    points = [(top, left), (top, right), (bottom, right), (bottom, left)]
    try:
        clip = ShapelyPolygon(points)
        s = ShapelyPolygon(ext, holes=ints)
        inter = s.buffer(0).intersection(clip)
        m = mapping(inter)
    except Exception as e:
        print("warning:", e, file=sys.stderr); return []
    out = []
    for it in shapely_figure_to_coords_list(m):
        if isinstance(it, list) and len(it) > 0 and len(it[0]) >= 3:
            e = row_col_list_to_points(it[0], do_round=True)
            ii = [row_col_list_to_points(r, do_round=True) for r in it[1:] if len(r) > 2]
            out.append((e, ii))
    return out

def crop_line(pts, h, w):
    pts = [pl(y, x) for x, y in pts]
    if inside(pts, h, w): return [pts]
    clip = ShapelyPolygon([[0, 0], [0, w - 1], [h - 1, w - 1], [h - 1, 0]])
    m = mapping(LineString(pts).intersection(clip))
    res = shapely_figure_to_coords_list(m)
    comb = []
    if res != [()]:
        for l in res:
            if comb and comb[-1][-1] == l[0]:
                comb[-1] = list(comb[-1]) + list(l[1:]); continue
            comb.append(l)
    return [row_col_list_to_points(l) for l in comb]

def xy(ps): return [[c, r] for r, c in ps]

# stdin: one JSON per line: {"type":"polygon"|"line","exterior":[...],"interior":[...],"w":W,"h":H}
for line in sys.stdin:
    q = json.loads(line)
    if q["type"] == "polygon":
        r = [{"exterior": xy(e), "interior": [xy(i) for i in ii]} for e, ii in crop_polygon(q["exterior"], q.get("interior", []), q["h"], q["w"])]
    else:
        r = [xy(l) for l in crop_line(q["exterior"], q["h"], q["w"])]
    print(json.dumps(r, separators=(",", ":")))
