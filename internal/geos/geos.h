#ifndef VPIPE_GEOS_H
#define VPIPE_GEOS_H

#include <stddef.h>

/* One GEOS context and the last error it reported. Used by one goroutine at a
   time (the Go side pools them). */
typedef struct vp_ctx vp_ctx;

/* Result pieces: ix holds the shape (per polygon: its ring count, then each
   ring's point count; per line: its point count), xy the points as x,y pairs,
   rings closed as GEOS gives them. Freed with vp_out_free. */
typedef struct {
	double *xy;
	size_t nxy, capxy;
	int *ix;
	size_t nix, capix;
	int pieces;
} vp_out;

vp_ctx *vp_new(void);
const char *vp_version(void);
const char *vp_err(vp_ctx *c);
void vp_out_free(vp_out *o);

/* vp_clip_polygon builds the polygon of nrings rings (ringlen[i] points each,
   closed) from xy, optionally takes its buffer(0) (quadsegs 16), intersects it
   with the closed ring win (nwin points) taken as a polygon, and appends every
   non-empty polygon of the result, depth first, to out. Returns 0, or -1 with
   vp_err set. */
int vp_clip_polygon(vp_ctx *c, const double *xy, const int *ringlen, int nrings, int buffer0,
                    const double *win, int nwin, vp_out *out);

/* vp_clip_line intersects the line string of n points with the polygon win and
   appends every non-empty line string of the result, depth first, to out. */
int vp_clip_line(vp_ctx *c, const double *xy, int n, const double *win, int nwin, vp_out *out);

#endif
