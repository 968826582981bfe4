// fastpng: a PNG encoder built for speed (see doc.go). This header is shared by
// the portable C (encode.c) and the SIMD kernels (avx2.c); Go calls fp_encode.
#ifndef VPIPE_FASTPNG_H
#define VPIPE_FASTPNG_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

// Zero runs of at least this many residual bytes become one literal 0 and
// length/distance-1 matches. 16 keeps the run search cheap: every such run
// holds an 8-aligned group of 8 zero bytes, which one word test finds.
#define FP_MINRUN 16

// Symbols 0..15 and 240..255 (residuals -16..15) are the "edge" literals, each
// with its own code of at most 8 bits; the 224 "mid" literals 16..239 share one
// length M (10..12) and their codes are a prefix picked by the high nibble and
// the low nibble bit-reversed, so SIMD finds every code with 16-entry shuffles.
typedef struct fp_table {
	uint8_t len[286];   // code lengths of the literal/length alphabet
	uint16_t code[286]; // canonical codes, bit-reversed (deflate sends LSB first)
	uint32_t lit[256];  // code | length << 16, for the scalar coder
	uint32_t run_bits[259]; // match of length l (3..258) at distance 1: length code, extra bits, distance code
	uint8_t run_len[259];
	uint8_t mid_len; // M
	// 16-entry tables for the SIMD coders (low nibble → edge length/code; high nibble → mid prefix).
	uint8_t lo_len[16], hi_len[16], lo_code[16], hi_code[16];
	uint8_t mid_prefix[16], mid_lo[16], mid_hi[16];
} fp_table;

// bitw writes deflate's LSB-first bit stream. put may store 8 bytes past the
// last whole byte, so every buffer it writes keeps 8 bytes of slack.
typedef struct bitw {
	uint8_t *p;
	uint64_t buf;
	unsigned n; // bits in buf, < 8 between calls
} bitw;

// fp_le64 converts between little-endian byte order and the CPU's.
static inline uint64_t fp_le64(uint64_t x) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return __builtin_bswap64(x);
#else
	return x;
#endif
}

// put appends the low len bits of bits (len <= 56, no bits set above len).
static inline void put(bitw *w, uint64_t bits, unsigned len) {
	w->buf |= bits << w->n;
	w->n += len;
	uint64_t le = fp_le64(w->buf);
	memcpy(w->p, &le, 8);
	w->p += w->n >> 3;
	w->buf >>= w->n & 56;
	w->n &= 7;
}

// The kernels: the portable ones in encode.c, the AVX2 ones in avx2.c. Both
// sets compute exactly the same results, so the files are the same bytes.
typedef struct fp_kernels {
	// filter3 writes the Sub, Up and Paeth residuals of one row of n bytes
	// (bpp bytes a pixel; prev is the row above, zeros for the first row) to
	// out[0..2], and adds to cost[0..2] either the code bits of each residual
	// under t or, when t is NULL, the sum of |residual| as a signed byte.
	void (*filter3)(const uint8_t *cur, const uint8_t *prev, size_t n, int bpp, uint8_t *const out[3],
	                const fp_table *t, uint64_t cost[3]);
	// lits codes n literals (p has 32 readable bytes past n).
	void (*lits)(bitw *w, const uint8_t *p, size_t n, const fp_table *t);
	// zeros sets bit i of mask when p[i] == 0, and bit i of starts when
	// p[i..i+FP_MINRUN-1] are all 0 (a long run covers i); bits past n are 0.
	// Both take (n+63)/64 words, and mask is read and written up to 8 words
	// further (zeros past the row). Returns whether a start was set.
	int (*zeros)(const uint8_t *p, size_t n, uint64_t *mask, uint64_t *starts);
	// adler updates a zlib Adler-32 with n bytes.
	uint32_t (*adler)(uint32_t adler, const uint8_t *p, size_t n);
} fp_kernels;

// run_starts_word: the run starts of mask word lo, whose next word is hi:
// bits i with bits i..i+15 of hi:lo all set.
static inline uint64_t run_starts_word(uint64_t lo, uint64_t hi) {
	uint64_t x1 = lo & (lo >> 1 | hi << 63), x1n = hi & hi >> 1;
	uint64_t x2 = x1 & (x1 >> 2 | x1n << 62), x2n = x1n & x1n >> 2;
	uint64_t x4 = x2 & (x2 >> 4 | x2n << 60), x4n = x2n & x2n >> 4;
	return x4 & (x4 >> 8 | x4n << 56);
}

#define FP_MASK_PAD 8 // zero words kept after a row's zero mask

extern const fp_kernels fp_portable;
// fp_avx2 returns the AVX2 kernels, or NULL when the CPU (or the build) has none.
const fp_kernels *fp_avx2(void);

// Results of fp_encode.
enum { FP_OK = 0, FP_SHORT = -1, FP_NOMEM = -2, FP_BADARG = -3 };

// fp_encode writes the zlib stream of a w×h image (bpp bytes a pixel, rows of
// stride bytes) to dst (cap bytes). Returns the stream's length, FP_SHORT when
// cap is too small (fp_max_zlib bytes always suffice), or another FP_ error.
// simd 0 forces the portable kernels. scratch: fp_scratch_size(w, bpp) bytes.
int64_t fp_encode(const uint8_t *pix, int64_t w, int64_t h, int bpp, int64_t stride, uint8_t *dst, int64_t cap,
                  uint8_t *scratch, int simd);
int64_t fp_max_zlib(int64_t w, int64_t h, int bpp);
int64_t fp_scratch_size(int64_t w, int bpp);
// fp_simd_name names the kernels fp_encode uses with simd=1.
const char *fp_simd_name(void);

#endif
