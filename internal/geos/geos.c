#define GEOS_USE_ONLY_R_API
#include <geos_c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geos.h"

struct vp_ctx {
	GEOSContextHandle_t h;
	char err[512];
};

static void on_error(const char *msg, void *ud) {
	vp_ctx *c = ud;
	snprintf(c->err, sizeof c->err, "%s", msg);
}

vp_ctx *vp_new(void) {
	vp_ctx *c = calloc(1, sizeof *c);
	if (!c) return NULL;
	c->h = GEOS_init_r();
	if (!c->h) {
		free(c);
		return NULL;
	}
	GEOSContext_setErrorMessageHandler_r(c->h, on_error, c);
	return c;
}

const char *vp_version(void) { return GEOSversion(); }

const char *vp_err(vp_ctx *c) { return c->err[0] ? c->err : "GEOS failed without a message"; }

void vp_out_free(vp_out *o) {
	free(o->xy);
	free(o->ix);
	memset(o, 0, sizeof *o);
}

static int push_ix(vp_out *o, int v) {
	if (o->nix == o->capix) {
		size_t n = o->capix ? 2 * o->capix : 16;
		int *p = realloc(o->ix, n * sizeof *p);
		if (!p) return -1;
		o->ix = p;
		o->capix = n;
	}
	o->ix[o->nix++] = v;
	return 0;
}

static int push_seq(vp_ctx *c, vp_out *o, const GEOSCoordSequence *s) {
	unsigned int n;
	if (!GEOSCoordSeq_getSize_r(c->h, s, &n)) return -1;
	if (o->nxy + 2 * (size_t)n > o->capxy) {
		size_t m = o->capxy ? o->capxy : 64;
		while (m < o->nxy + 2 * (size_t)n) m *= 2;
		double *p = realloc(o->xy, m * sizeof *p);
		if (!p) {
			snprintf(c->err, sizeof c->err, "out of memory");
			return -1;
		}
		o->xy = p;
		o->capxy = m;
	}
	if (n && !GEOSCoordSeq_copyToBuffer_r(c->h, s, o->xy + o->nxy, 0, 0)) return -1;
	o->nxy += 2 * (size_t)n;
	return push_ix(o, (int)n);
}

static GEOSGeometry *ring(vp_ctx *c, const double *xy, int n) {
	GEOSCoordSequence *s = GEOSCoordSeq_copyFromBuffer_r(c->h, xy, (unsigned int)n, 0, 0);
	if (!s) return NULL;
	return GEOSGeom_createLinearRing_r(c->h, s); /* takes s, also on failure */
}

static GEOSGeometry *polygon(vp_ctx *c, const double *xy, const int *ringlen, int nrings) {
	GEOSGeometry *shell = ring(c, xy, ringlen[0]);
	if (!shell) return NULL;
	xy += 2 * ringlen[0];
	GEOSGeometry **holes = NULL;
	if (nrings > 1) {
		holes = calloc((size_t)nrings - 1, sizeof *holes);
		if (!holes) {
			GEOSGeom_destroy_r(c->h, shell);
			snprintf(c->err, sizeof c->err, "out of memory");
			return NULL;
		}
	}
	for (int i = 1; i < nrings; i++) {
		holes[i - 1] = ring(c, xy, ringlen[i]);
		xy += 2 * ringlen[i];
		if (!holes[i - 1]) {
			for (int j = 0; j < i - 1; j++) GEOSGeom_destroy_r(c->h, holes[j]);
			free(holes);
			GEOSGeom_destroy_r(c->h, shell);
			return NULL;
		}
	}
	GEOSGeometry *p = GEOSGeom_createPolygon_r(c->h, shell, holes, (unsigned int)(nrings - 1));
	free(holes);
	return p;
}

static int collect_polygons(vp_ctx *c, const GEOSGeometry *g, vp_out *o) {
	int t = GEOSGeomTypeId_r(c->h, g);
	if (t == GEOS_POLYGON) {
		if (GEOSisEmpty_r(c->h, g)) return 0;
		int nh = GEOSGetNumInteriorRings_r(c->h, g);
		if (nh < 0 || push_ix(o, nh + 1)) return -1;
		if (push_seq(c, o, GEOSGeom_getCoordSeq_r(c->h, GEOSGetExteriorRing_r(c->h, g)))) return -1;
		for (int i = 0; i < nh; i++)
			if (push_seq(c, o, GEOSGeom_getCoordSeq_r(c->h, GEOSGetInteriorRingN_r(c->h, g, i)))) return -1;
		o->pieces++;
		return 0;
	}
	if (t == GEOS_MULTIPOLYGON || t == GEOS_GEOMETRYCOLLECTION) {
		int n = GEOSGetNumGeometries_r(c->h, g);
		for (int i = 0; i < n; i++)
			if (collect_polygons(c, GEOSGetGeometryN_r(c->h, g, i), o)) return -1;
	}
	return 0;
}

static int collect_lines(vp_ctx *c, const GEOSGeometry *g, vp_out *o) {
	int t = GEOSGeomTypeId_r(c->h, g);
	if (t == GEOS_LINESTRING) {
		if (GEOSisEmpty_r(c->h, g)) return 0;
		if (push_seq(c, o, GEOSGeom_getCoordSeq_r(c->h, g))) return -1;
		o->pieces++;
		return 0;
	}
	if (t == GEOS_MULTILINESTRING || t == GEOS_GEOMETRYCOLLECTION) {
		int n = GEOSGetNumGeometries_r(c->h, g);
		for (int i = 0; i < n; i++)
			if (collect_lines(c, GEOSGetGeometryN_r(c->h, g, i), o)) return -1;
	}
	return 0;
}

static GEOSGeometry *window(vp_ctx *c, const double *win, int nwin) {
	int n[1] = {nwin};
	return polygon(c, win, n, 1);
}

int vp_clip_polygon(vp_ctx *c, const double *xy, const int *ringlen, int nrings, int buffer0,
                    const double *win, int nwin, vp_out *out) {
	c->err[0] = 0;
	GEOSGeometry *p = polygon(c, xy, ringlen, nrings);
	if (!p) return -1;
	if (buffer0) {
		GEOSGeometry *b = GEOSBuffer_r(c->h, p, 0, 16);
		GEOSGeom_destroy_r(c->h, p);
		if (!b) return -1;
		p = b;
	}
	GEOSGeometry *w = window(c, win, nwin);
	if (!w) {
		GEOSGeom_destroy_r(c->h, p);
		return -1;
	}
	GEOSGeometry *r = GEOSIntersection_r(c->h, p, w);
	GEOSGeom_destroy_r(c->h, p);
	GEOSGeom_destroy_r(c->h, w);
	if (!r) return -1;
	int rc = collect_polygons(c, r, out);
	GEOSGeom_destroy_r(c->h, r);
	return rc;
}

int vp_clip_line(vp_ctx *c, const double *xy, int n, const double *win, int nwin, vp_out *out) {
	c->err[0] = 0;
	GEOSCoordSequence *s = GEOSCoordSeq_copyFromBuffer_r(c->h, xy, (unsigned int)n, 0, 0);
	if (!s) return -1;
	GEOSGeometry *l = GEOSGeom_createLineString_r(c->h, s);
	if (!l) return -1;
	GEOSGeometry *w = window(c, win, nwin);
	if (!w) {
		GEOSGeom_destroy_r(c->h, l);
		return -1;
	}
	GEOSGeometry *r = GEOSIntersection_r(c->h, l, w);
	GEOSGeom_destroy_r(c->h, l);
	GEOSGeom_destroy_r(c->h, w);
	if (!r) return -1;
	int rc = collect_lines(c, r, out);
	GEOSGeom_destroy_r(c->h, r);
	return rc;
}
