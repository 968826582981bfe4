// AVX2 kernels, chosen at run time when the CPU has AVX2 (fp_avx2). Each one
// computes exactly what its portable twin in encode.c computes.
#include "fastpng.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2")))

#define LD(p) _mm256_loadu_si256((const __m256i *)(p))
#define ST(p, v) _mm256_storeu_si256((__m256i *)(p), v)
#define TBL(a) _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(a)))

// The PNG Paeth predictor on bytes: pa = |b-c|, pb = |a-c|, and pc = |pa-pb|
// when b-c and a-c differ in sign, else pa+pb, saturated (then pc is never the
// least, and 255 keeps every comparison's outcome).
AVX2 static inline __m256i paeth_v(__m256i a, __m256i b, __m256i c) {
	__m256i maxbc = _mm256_max_epu8(b, c), maxac = _mm256_max_epu8(a, c);
	__m256i pa = _mm256_sub_epi8(maxbc, _mm256_min_epu8(b, c));
	__m256i pb = _mm256_sub_epi8(maxac, _mm256_min_epu8(a, c));
	__m256i same = _mm256_cmpeq_epi8(_mm256_cmpeq_epi8(maxbc, b), _mm256_cmpeq_epi8(maxac, a));
	__m256i minab = _mm256_min_epu8(pa, pb);
	__m256i pc = _mm256_blendv_epi8(_mm256_sub_epi8(_mm256_max_epu8(pa, pb), minab), _mm256_adds_epu8(pa, pb), same);
	__m256i use_a = _mm256_and_si256(_mm256_cmpeq_epi8(minab, pa), _mm256_cmpeq_epi8(_mm256_min_epu8(pa, pc), pa));
	__m256i use_b = _mm256_cmpeq_epi8(_mm256_min_epu8(pb, pc), pb);
	return _mm256_blendv_epi8(_mm256_blendv_epi8(c, b, use_b), a, use_a);
}

typedef struct vtab {
	__m256i lo_len, hi_len, lo_code, hi_code, prefix, mid_lo, mid_hi, mid_len;
} vtab;

AVX2 static inline vtab load_tab(const fp_table *t) {
	vtab v;
	v.lo_len = TBL(t->lo_len), v.hi_len = TBL(t->hi_len);
	v.lo_code = TBL(t->lo_code), v.hi_code = TBL(t->hi_code);
	v.prefix = TBL(t->mid_prefix), v.mid_lo = TBL(t->mid_lo), v.mid_hi = TBL(t->mid_hi);
	v.mid_len = _mm256_set1_epi8((char)t->mid_len);
	return v;
}

// nbits_v: the code length of each byte.
AVX2 static inline __m256i nbits_v(__m256i v, const vtab *t) {
	const __m256i nib = _mm256_set1_epi8(0x0f);
	__m256i lo = _mm256_and_si256(v, nib), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), nib);
	__m256i edge = _mm256_or_si256(_mm256_cmpeq_epi8(hi, _mm256_setzero_si256()), _mm256_cmpeq_epi8(hi, nib));
	__m256i elen = _mm256_blendv_epi8(_mm256_shuffle_epi8(t->lo_len, lo), _mm256_shuffle_epi8(t->hi_len, lo), v);
	return _mm256_blendv_epi8(t->mid_len, elen, edge);
}

// cost_v: what one residual vector adds to a cost: its code bits, or (sad)
// the sum of |byte| as signed bytes, in four 64-bit lanes.
AVX2 static inline __m256i cost_v(__m256i r, const vtab *t, int sad) {
	__m256i x = sad ? _mm256_abs_epi8(r) : nbits_v(r, t);
	return _mm256_sad_epu8(x, _mm256_setzero_si256());
}

AVX2 static inline uint64_t hsum64(__m256i v) {
	__m128i s = _mm_add_epi64(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
	return (uint64_t)_mm_cvtsi128_si64(s) + (uint64_t)_mm_extract_epi64(s, 1);
}

static inline uint8_t paeth_s(int a, int b, int c) {
	int p = a + b - c;
	int pa = p > a ? p - a : a - p, pb = p > b ? p - b : b - p, pc = p > c ? p - c : c - p;
	if (pa <= pb && pa <= pc) return (uint8_t)a;
	return (uint8_t)(pb <= pc ? b : c);
}

static inline unsigned cost_s(uint8_t r, const fp_table *t) {
	int v = (int8_t)r;
	return t ? t->len[r] : (unsigned)(v < 0 ? -v : v);
}

// filter_s: the scalar steps of filter3 for bytes [from, to) of the row.
static inline void filter_s(const uint8_t *cur, const uint8_t *prev, size_t from, size_t to, int bpp,
                            uint8_t *const out[3], const fp_table *t, uint64_t c[3]) {
	for (size_t i = from; i < to; i++) {
		int a = i >= (size_t)bpp ? cur[i - bpp] : 0, b = prev[i], cc = i >= (size_t)bpp ? prev[i - bpp] : 0;
		uint8_t x = cur[i];
		uint8_t r0 = (uint8_t)(x - a), r1 = (uint8_t)(x - b), r2 = (uint8_t)(x - paeth_s(a, b, cc));
		out[0][i] = r0, out[1][i] = r1, out[2][i] = r2;
		c[0] += cost_s(r0, t), c[1] += cost_s(r1, t), c[2] += cost_s(r2, t);
	}
}

AVX2 static inline void filter3_body(const uint8_t *cur, const uint8_t *prev, size_t n, int bpp,
                                     uint8_t *const out[3], const fp_table *t, uint64_t cost[3], int sad) {
	size_t head = (size_t)bpp < n ? (size_t)bpp : n, i = head;
	filter_s(cur, prev, 0, head, bpp, out, t, cost);
	vtab vt;
	if (!sad) vt = load_tab(t);
	__m256i c0 = _mm256_setzero_si256(), c1 = c0, c2 = c0;
	for (; i + 32 <= n; i += 32) {
		__m256i x = LD(cur + i), a = LD(cur + i - bpp), b = LD(prev + i), c = LD(prev + i - bpp);
		__m256i r0 = _mm256_sub_epi8(x, a), r1 = _mm256_sub_epi8(x, b), r2 = _mm256_sub_epi8(x, paeth_v(a, b, c));
		ST(out[0] + i, r0), ST(out[1] + i, r1), ST(out[2] + i, r2);
		c0 = _mm256_add_epi64(c0, cost_v(r0, &vt, sad));
		c1 = _mm256_add_epi64(c1, cost_v(r1, &vt, sad));
		c2 = _mm256_add_epi64(c2, cost_v(r2, &vt, sad));
	}
	cost[0] += hsum64(c0), cost[1] += hsum64(c1), cost[2] += hsum64(c2);
	filter_s(cur, prev, i, n, bpp, out, t, cost);
}

AVX2 static void filter3_avx2(const uint8_t *cur, const uint8_t *prev, size_t n, int bpp, uint8_t *const out[3],
                              const fp_table *t, uint64_t cost[3]) {
	if (t)
		filter3_body(cur, prev, n, bpp, out, t, cost, 0);
	else
		filter3_body(cur, prev, n, bpp, out, t, cost, 1);
}

static const uint8_t tail_mask[64] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

// lits_avx2 looks up 32 codes at once (nibble shuffles), joins them pairwise
// into 16-, 32- and 64-bit lanes with variable shifts (four codes, at most 48
// bits, a lane) and writes the eight lanes in stream order.
AVX2 static void lits_avx2(bitw *w, const uint8_t *p, size_t n, const fp_table *t) {
	const vtab vt = load_tab(t);
	const __m256i nib = _mm256_set1_epi8(0x0f), zero = _mm256_setzero_si256();
	const __m256i low16 = _mm256_set1_epi32(0xffff), low32 = _mm256_set1_epi64x(0xffffffff);
	const __m256i ones16 = _mm256_set1_epi16(1);
	for (size_t i = 0; i < n; i += 32) {
		__m256i v = LD(p + i);
		__m256i lo = _mm256_and_si256(v, nib), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), nib);
		__m256i edge = _mm256_or_si256(_mm256_cmpeq_epi8(hi, zero), _mm256_cmpeq_epi8(hi, nib));
		__m256i elen = _mm256_blendv_epi8(_mm256_shuffle_epi8(vt.lo_len, lo), _mm256_shuffle_epi8(vt.hi_len, lo), v);
		__m256i ecode =
		    _mm256_blendv_epi8(_mm256_shuffle_epi8(vt.lo_code, lo), _mm256_shuffle_epi8(vt.hi_code, lo), v);
		__m256i len = _mm256_blendv_epi8(vt.mid_len, elen, edge);
		__m256i mlo = _mm256_or_si256(_mm256_shuffle_epi8(vt.prefix, hi), _mm256_shuffle_epi8(vt.mid_lo, lo));
		__m256i clo = _mm256_blendv_epi8(mlo, ecode, edge);
		__m256i chi = _mm256_andnot_si256(edge, _mm256_shuffle_epi8(vt.mid_hi, lo));
		if (n - i < 32) {
			__m256i keep = LD(tail_mask + 32 - (n - i));
			len = _mm256_and_si256(len, keep), clo = _mm256_and_si256(clo, keep), chi = _mm256_and_si256(chi, keep);
		}
		// Bytes 0-7 and 16-23 go to the "a" vectors, 8-15 and 24-31 to "b".
		__m256i ca = _mm256_unpacklo_epi8(clo, chi), cb = _mm256_unpackhi_epi8(clo, chi);
		__m256i la = _mm256_unpacklo_epi8(len, zero), lb = _mm256_unpackhi_epi8(len, zero);
		// 16 -> 32 bits: low code | high code << low length.
		ca = _mm256_or_si256(_mm256_and_si256(ca, low16),
		                     _mm256_sllv_epi32(_mm256_srli_epi32(ca, 16), _mm256_and_si256(la, low16)));
		cb = _mm256_or_si256(_mm256_and_si256(cb, low16),
		                     _mm256_sllv_epi32(_mm256_srli_epi32(cb, 16), _mm256_and_si256(lb, low16)));
		la = _mm256_madd_epi16(la, ones16), lb = _mm256_madd_epi16(lb, ones16);
		// 32 -> 64 bits.
		ca = _mm256_or_si256(_mm256_and_si256(ca, low32),
		                     _mm256_sllv_epi64(_mm256_srli_epi64(ca, 32), _mm256_and_si256(la, low32)));
		cb = _mm256_or_si256(_mm256_and_si256(cb, low32),
		                     _mm256_sllv_epi64(_mm256_srli_epi64(cb, 32), _mm256_and_si256(lb, low32)));
		la = _mm256_add_epi64(_mm256_and_si256(la, low32), _mm256_srli_epi64(la, 32));
		lb = _mm256_add_epi64(_mm256_and_si256(lb, low32), _mm256_srli_epi64(lb, 32));
		// Joined further while they fit one put (56 bits): 8 and 16 codes,
		// sym 0-7 | 16-23 in the lanes 0 and 2 of a8, 8-15 | 24-31 of b8, 0-15 | 16-31 of c16.
		__m256i a8 = _mm256_or_si256(ca, _mm256_sllv_epi64(_mm256_bsrli_epi128(ca, 8), la));
		__m256i b8 = _mm256_or_si256(cb, _mm256_sllv_epi64(_mm256_bsrli_epi128(cb, 8), lb));
		__m256i la8 = _mm256_add_epi64(la, _mm256_bsrli_epi128(la, 8));
		__m256i lb8 = _mm256_add_epi64(lb, _mm256_bsrli_epi128(lb, 8));
		__m256i c16 = _mm256_or_si256(a8, _mm256_sllv_epi64(b8, la8));
		__m256i l16 = _mm256_add_epi64(la8, lb8);
		uint64_t cs[8], ls[8], c8[8], l8[8], cc[4], lc[4];
		ST(cs, ca), ST(cs + 4, cb), ST(ls, la), ST(ls + 4, lb);
		ST(c8, a8), ST(c8 + 4, b8), ST(l8, la8), ST(l8 + 4, lb8);
		ST(cc, c16), ST(lc, l16);
		for (int h = 0; h < 4; h += 2) { // h: the lane of each half
			if (lc[h] <= 56) {
				put(w, cc[h], (unsigned)lc[h]);
				continue;
			}
			for (int q = h; q < 8; q += 4) { // the A, then the B eight
				if (l8[q] <= 56) {
					put(w, c8[q], (unsigned)l8[q]);
				} else {
					put(w, cs[q], (unsigned)ls[q]);
					put(w, cs[q + 1], (unsigned)ls[q + 1]);
				}
			}
		}
	}
}

// zeros_avx2: the mask by compares, then the run starts of four words at a
// time (run_starts_word on 64-bit lanes).
AVX2 static int zeros_avx2(const uint8_t *p, size_t n, uint64_t *mask, uint64_t *starts) {
	const __m256i zero = _mm256_setzero_si256();
	size_t nw = (n + 63) / 64;
	for (size_t j = 0; j < nw; j++) {
		uint32_t m0 = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(LD(p + 64 * j), zero));
		uint32_t m1 = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(LD(p + 64 * j + 32), zero));
		mask[j] = (uint64_t)m1 << 32 | m0;
	}
	if (n & 63) mask[nw - 1] &= ~0ull >> (64 - (n & 63));
	__m256i any = zero;
	for (size_t j = 0; j < nw; j += 4) {
		__m256i lo = LD(mask + j), hi = LD(mask + j + 1);
		__m256i x1 = _mm256_and_si256(lo, _mm256_or_si256(_mm256_srli_epi64(lo, 1), _mm256_slli_epi64(hi, 63)));
		__m256i x1n = _mm256_and_si256(hi, _mm256_srli_epi64(hi, 1));
		__m256i x2 = _mm256_and_si256(x1, _mm256_or_si256(_mm256_srli_epi64(x1, 2), _mm256_slli_epi64(x1n, 62)));
		__m256i x2n = _mm256_and_si256(x1n, _mm256_srli_epi64(x1n, 2));
		__m256i x4 = _mm256_and_si256(x2, _mm256_or_si256(_mm256_srli_epi64(x2, 4), _mm256_slli_epi64(x2n, 60)));
		__m256i x4n = _mm256_and_si256(x2n, _mm256_srli_epi64(x2n, 4));
		__m256i x8 = _mm256_and_si256(x4, _mm256_or_si256(_mm256_srli_epi64(x4, 8), _mm256_slli_epi64(x4n, 56)));
		ST(starts + j, x8);
		any = _mm256_or_si256(any, x8);
	}
	return !_mm256_testz_si256(any, any);
}

#define ADLER_MOD 65521
#define ADLER_BLOCKS 173 // 32-byte blocks before the 32-bit lanes could overflow (5536 bytes)

// adler_avx2: per block of 32 bytes, s1 by sums of absolute differences with
// zero, s2 by multiply-adds with the weights 32..1 plus 32 × the s1 of the
// blocks before.
AVX2 static uint32_t adler_avx2(uint32_t adler, const uint8_t *p, size_t n) {
	uint32_t a = adler & 0xffff, b = adler >> 16;
	const __m256i wts = _mm256_setr_epi8(32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14,
	                                     13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1);
	const __m256i ones16 = _mm256_set1_epi16(1), zero = _mm256_setzero_si256();
	while (n >= 32) {
		size_t blocks = n / 32 < ADLER_BLOCKS ? n / 32 : ADLER_BLOCKS;
		n -= blocks * 32;
		uint64_t bb = b + (uint64_t)a * blocks * 32;
		__m256i s1 = zero, s2 = zero, ps = zero;
		for (size_t k = 0; k < blocks; k++, p += 32) {
			__m256i v = LD(p);
			ps = _mm256_add_epi64(ps, s1);
			s1 = _mm256_add_epi64(s1, _mm256_sad_epu8(v, zero));
			s2 = _mm256_add_epi32(s2, _mm256_madd_epi16(_mm256_maddubs_epi16(v, wts), ones16));
		}
		__m128i t = _mm_add_epi32(_mm256_castsi256_si128(s2), _mm256_extracti128_si256(s2, 1));
		t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4e));
		t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xb1));
		bb += 32 * hsum64(ps) + (uint32_t)_mm_cvtsi128_si32(t);
		a = (uint32_t)((a + hsum64(s1)) % ADLER_MOD);
		b = (uint32_t)(bb % ADLER_MOD);
	}
	while (n--) a += *p++, b += a;
	return (b % ADLER_MOD) << 16 | (a % ADLER_MOD);
}

static const fp_kernels avx2_kernels = {filter3_avx2, lits_avx2, zeros_avx2, adler_avx2};

const fp_kernels *fp_avx2(void) {
	return __builtin_cpu_supports("avx2") ? &avx2_kernels : NULL;
}

const char *fp_simd_name(void) { return fp_avx2() ? "avx2" : "portable"; }

#endif
