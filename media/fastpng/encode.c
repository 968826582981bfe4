// The encoder's shared part: the portable kernels, the run search, the code
// table fitted to the image, the deflate block and the stored fallback. The
// SIMD kernels (avx2.c) replace the four kernels only, so every decision
// (predictors, table, runs) is the same whichever kernels run.
#include <stdlib.h>

#include "fastpng.h"

// ---- portable kernels

// filters_c: Sub, Up and Paeth (no branches) in one loop the compiler can
// vectorise; restrict tells it the rows do not overlap.
static void filters_c(const uint8_t *restrict cur, const uint8_t *restrict prev, size_t n, size_t bpp,
                      uint8_t *restrict o0, uint8_t *restrict o1, uint8_t *restrict o2) {
	size_t head = bpp < n ? bpp : n;
	for (size_t i = 0; i < head; i++) o0[i] = cur[i], o1[i] = o2[i] = (uint8_t)(cur[i] - prev[i]); // Paeth with a = c = 0 picks b
	for (size_t i = head; i < n; i++) {
		int a = cur[i - bpp], b = prev[i], c = prev[i - bpp], x = cur[i];
		int pa = abs(b - c), pb = abs(a - c), pc = abs(a + b - 2 * c);
		int pred = ((pa <= pb) & (pa <= pc)) ? a : (pb <= pc ? b : c);
		o0[i] = (uint8_t)(x - a), o1[i] = (uint8_t)(x - b), o2[i] = (uint8_t)(x - pred);
	}
}

#if defined(__GNUC__) && !defined(__clang__)
#define SCALAR __attribute__((optimize("no-tree-vectorize"))) // table lookups: emulated gathers lose
#else
#define SCALAR
#endif

// costs_c adds the costs of three residual rows: two sums each, for shorter
// dependency chains.
SCALAR static void costs_c(const uint8_t *r0, const uint8_t *r1, const uint8_t *r2, size_t n, const fp_table *t,
                           uint64_t cost[3]) {
	uint64_t c0 = 0, c1 = 0, c2 = 0, d0 = 0, d1 = 0, d2 = 0;
	size_t i = 0;
	if (t) {
		const uint8_t *len = t->len;
		for (; i + 2 <= n; i += 2) {
			c0 += len[r0[i]], c1 += len[r1[i]], c2 += len[r2[i]];
			d0 += len[r0[i + 1]], d1 += len[r1[i + 1]], d2 += len[r2[i + 1]];
		}
		for (; i < n; i++) c0 += len[r0[i]], c1 += len[r1[i]], c2 += len[r2[i]];
	} else {
		for (; i < n; i++) {
			c0 += (unsigned)abs((int)(int8_t)r0[i]);
			c1 += (unsigned)abs((int)(int8_t)r1[i]);
			c2 += (unsigned)abs((int)(int8_t)r2[i]);
		}
	}
	cost[0] += c0 + d0, cost[1] += c1 + d1, cost[2] += c2 + d2;
}

// filter3_c: the filters, then the costs in a second pass over the rows in cache.
static void filter3_c(const uint8_t *cur, const uint8_t *prev, size_t n, int bpp, uint8_t *const out[3],
                      const fp_table *t, uint64_t cost[3]) {
	filters_c(cur, prev, n, (size_t)bpp, out[0], out[1], out[2]);
	costs_c(out[0], out[1], out[2], n, t, cost);
}

// lits_c codes four literals at a time: they fit in 48 bits (literal codes
// are at most 12 bits long).
static void lits_c(bitw *w, const uint8_t *p, size_t n, const fp_table *t) {
	size_t i = 0;
	for (; i + 4 <= n; i += 4) {
		uint32_t e0 = t->lit[p[i]], e1 = t->lit[p[i + 1]], e2 = t->lit[p[i + 2]], e3 = t->lit[p[i + 3]];
		unsigned l0 = e0 >> 16, l1 = e1 >> 16, l2 = e2 >> 16, l3 = e3 >> 16;
		uint64_t bits = (uint64_t)(e0 & 0xffff) | (uint64_t)(e1 & 0xffff) << l0 |
		                (uint64_t)(e2 & 0xffff) << (l0 + l1) | (uint64_t)(e3 & 0xffff) << (l0 + l1 + l2);
		put(w, bits, l0 + l1 + l2 + l3);
	}
	for (; i < n; i++) put(w, t->lit[p[i]] & 0xffff, t->lit[p[i]] >> 16);
}

// zeros_c finds the zero bytes eight at a time: the high bit of each zero
// byte, gathered into one byte by a multiply (the products never overlap).
static int zeros_c(const uint8_t *p, size_t n, uint64_t *mask, uint64_t *starts) {
	size_t nw = (n + 63) / 64;
	memset(mask, 0, (nw + FP_MASK_PAD) * 8);
	for (size_t i = 0; i < n; i += 8) {
		uint64_t x;
		memcpy(&x, p + i, 8); // the rows have slack past n
		x = fp_le64(x);
		const uint64_t low7 = 0x7f7f7f7f7f7f7f7full;
		uint64_t z = ~(((x & low7) + low7) | x) & ~low7; // 0x80 in each zero byte (little-endian: byte k is p[i+k])
		uint64_t bits = ((z >> 7) * 0x0102040810204080ull) >> 56;
		mask[i >> 6] |= bits << (i & 63);
	}
	if (n & 63) mask[nw - 1] &= ~0ull >> (64 - (n & 63));
	uint64_t any = 0;
	for (size_t j = 0; j < nw; j++) any |= starts[j] = run_starts_word(mask[j], mask[j + 1]);
	return any != 0;
}

#define ADLER_MOD 65521
#define ADLER_NMAX 5552 // the most bytes before the sums can overflow 32 bits

static uint32_t adler_c(uint32_t adler, const uint8_t *p, size_t n) {
	uint32_t a = adler & 0xffff, b = adler >> 16;
	while (n) {
		size_t k = n < ADLER_NMAX ? n : ADLER_NMAX;
		n -= k;
		for (; k >= 8; k -= 8, p += 8) {
			// b gains 8a and the bytes weighted 8..1.
			b += 8 * a + 8u * p[0] + 7u * p[1] + 6u * p[2] + 5u * p[3] + 4u * p[4] + 3u * p[5] + 2u * p[6] + p[7];
			a += (uint32_t)p[0] + p[1] + p[2] + p[3] + p[4] + p[5] + p[6] + p[7];
		}
		while (k--) a += *p++, b += a;
		a %= ADLER_MOD, b %= ADLER_MOD;
	}
	return b << 16 | a;
}

const fp_kernels fp_portable = {filter3_c, lits_c, zeros_c, adler_c};

// ---- zero runs

// next_run finds the first maximal run of FP_MINRUN or more zero bytes at or
// after from (which is 0 or just past an earlier run), given zm and its run
// starts r (see fp_kernels.zeros).
static int next_run(const uint64_t *zm, const uint64_t *r, size_t n, size_t from, size_t *start, size_t *end) {
	size_t nw = (n + 63) / 64, j = from >> 6;
	if (j >= nw) return 0;
	uint64_t m = r[j] & (~0ull << (from & 63));
	while (!m) {
		if (++j >= nw) return 0;
		m = r[j];
	}
	size_t s = (j << 6) + (size_t)__builtin_ctzll(m), e = s + FP_MINRUN;
	for (;;) {
		size_t ej = e >> 6;
		if (ej >= nw) {
			e = n;
			break;
		}
		uint64_t inv = ~zm[ej] & (~0ull << (e & 63));
		if (inv) {
			e = (ej << 6) + (size_t)__builtin_ctzll(inv);
			break;
		}
		e = (ej + 1) << 6;
	}
	*start = s, *end = e < n ? e : n;
	return 1;
}

static const uint16_t len_base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                      31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};

static int len_sym(unsigned l) { // 0..28 for lengths 3..258
	int c = 28;
	while (len_base[c] > l) c--;
	return c;
}

// run_pieces splits the matches of a run of r zeros (after its first, a
// literal) into lengths of 3..258 and hands each to f.
#define FOR_RUN_PIECES(r, l, body)                                                                                     \
	do {                                                                                                               \
		size_t left_ = (r) - 1;                                                                                        \
		while (left_) {                                                                                                \
			unsigned l = left_ > 258 ? 258 : (unsigned)left_;                                                          \
			if (left_ - l == 1 || left_ - l == 2) l -= 3;                                                              \
			body;                                                                                                      \
			left_ -= l;                                                                                                \
		}                                                                                                              \
	} while (0)

// code_row codes one row of residuals: literals, and each long zero run as a
// literal 0 and matches at distance 1.
static void code_row(bitw *w, const uint8_t *r, size_t n, uint64_t *zm, uint64_t *rs, const fp_table *t,
                     const fp_kernels *k) {
	size_t lit = 0, s, e, from = 0;
	int any = k->zeros(r, n, zm, rs);
	while (any && next_run(zm, rs, n, from, &s, &e)) {
		k->lits(w, r + lit, s + 1 - lit, t);
		FOR_RUN_PIECES(e - s, l, put(w, t->run_bits[l], t->run_len[l]));
		lit = from = e;
	}
	k->lits(w, r + lit, n - lit, t);
}

// count_row adds the symbols code_row would send to freq.
static void count_row(const uint8_t *r, size_t n, uint64_t *zm, uint64_t *rs, uint64_t freq[286],
                      const fp_kernels *k) {
	size_t lit = 0, s, e, from = 0;
	int any = k->zeros(r, n, zm, rs);
	for (;;) {
		int more = any && next_run(zm, rs, n, from, &s, &e);
		size_t upto = more ? s + 1 : n;
		for (size_t i = lit; i < upto; i++) freq[r[i]]++;
		if (!more) break;
		FOR_RUN_PIECES(e - s, l, freq[257 + len_sym(l)]++);
		lit = from = e;
	}
}

// ---- the code table

#define FIT_MAXN 32
#define FIT_MAXT 256
#define FIT_INF 0x3fffffffu

// fit_lengths gives n symbols (frequencies f, small enough that the costs fit
// 30 bits) lengths lo..hi whose code space, in units of 2^-hi, adds up to
// exactly target, at the least total bits: a dynamic program over the code
// space used, its inner loop vectorisable. Returns that cost, or FIT_INF.
static uint32_t fit_lengths(const uint32_t *f, int n, int lo, int hi, int target, uint8_t *out) {
	uint32_t a[FIT_MAXT + 1], b[FIT_MAXT + 1], *cur = a, *nxt = b;
	uint8_t choice[FIT_MAXN][FIT_MAXT + 1];
	if (n > FIT_MAXN || target > FIT_MAXT) return FIT_INF;
	for (int m = 0; m <= target; m++) cur[m] = FIT_INF;
	cur[0] = 0;
	for (int i = 0; i < n; i++) {
		uint8_t *ch = choice[i];
		for (int m = 0; m <= target; m++) nxt[m] = FIT_INF;
		for (int l = lo; l <= hi; l++) {
			int w = 1 << (hi - l);
			uint32_t add = f[i] * (uint32_t)l;
			for (int m = w; m <= target; m++) {
				uint32_t c = cur[m - w] + add;
				if (c < nxt[m]) nxt[m] = c, ch[m] = (uint8_t)l;
			}
		}
		uint32_t *tmp = cur;
		cur = nxt, nxt = tmp;
	}
	if (cur[target] >= FIT_INF) return FIT_INF;
	for (int i = n - 1, m = target; i >= 0; i--) {
		out[i] = choice[i][m];
		m -= 1 << (hi - out[i]);
	}
	return cur[target];
}

static uint16_t reverse_bits(unsigned code, int len) {
	unsigned r = 0;
	for (int i = 0; i < len; i++) r = r << 1 | ((code >> i) & 1);
	return (uint16_t)r;
}

// canonical assigns deflate's canonical codes (bit-reversed) to n lengths.
static void canonical(const uint8_t *len, int n, uint16_t *code) {
	unsigned count[16] = {0}, next[16] = {0};
	for (int i = 0; i < n; i++) count[len[i]]++;
	count[0] = 0;
	for (int l = 1, c = 0; l < 16; l++) {
		c = (c + count[l - 1]) << 1;
		next[l] = c;
	}
	for (int i = 0; i < n; i++) code[i] = len[i] ? reverse_bits(next[len[i]]++, len[i]) : 0;
}

// fit_table chooses the literal/length lengths for freq under the table's
// shape: edges 1..P bits, the mid literals M = P+4 bits, the symbols 256..285
// P+4..P+7 bits, so no code is 1..3 bits shorter than M and the mid codes start
// at a multiple of 16 (the low nibble is the code's last 4 bits). P = 6..8 is
// tried and the cheapest kept.
static int fit_table(const uint64_t freq_in[286], uint8_t len[286]) {
	// Frequencies scaled to keep the costs within 30 bits (sampled rows of
	// very wide images only).
	uint64_t total = 0;
	for (int s = 0; s < 286; s++) total += freq_in[s];
	int shift = 0;
	while ((total >> shift) > (1u << 22)) shift++;
	uint32_t freq[286];
	for (int s = 0; s < 286; s++) freq[s] = freq_in[s] >> shift ? (uint32_t)(freq_in[s] >> shift) : 1;
	uint32_t fo[30], osum = 0, mid = 0;
	uint8_t lo[30];
	for (int j = 0; j < 30; j++) fo[j] = freq[256 + j], osum += fo[j];
	for (int s = 16; s < 240; s++) mid += freq[s];
	// The 30 others: 4..7 bits under their node of 2^-P.
	uint32_t co = fit_lengths(fo, 30, 4, 7, 128, lo);
	if (co >= FIT_INF) return -1;
	uint64_t best = UINT64_MAX;
	for (int P = 6; P <= 8; P++) {
		uint32_t fe[32];
		uint8_t le[32];
		for (int j = 0; j < 16; j++) fe[j] = freq[j], fe[16 + j] = freq[240 + j];
		uint32_t ce = fit_lengths(fe, 32, 1, P, (1 << P) - 15, le);
		if (ce >= FIT_INF) continue;
		uint64_t cost = (uint64_t)ce + (uint64_t)mid * (P + 4) + co + (uint64_t)osum * P;
		if (cost >= best) continue;
		best = cost;
		for (int j = 0; j < 16; j++) len[j] = le[j], len[240 + j] = le[16 + j];
		for (int s = 16; s < 240; s++) len[s] = (uint8_t)(P + 4);
		for (int j = 0; j < 30; j++) len[256 + j] = (uint8_t)(P + lo[j]);
	}
	return best == UINT64_MAX ? -1 : 0;
}

static int build_table(const uint64_t freq[286], fp_table *t) {
	if (fit_table(freq, t->len) < 0) return -1;
	canonical(t->len, 286, t->code);
	int M = t->len[16];
	t->mid_len = (uint8_t)M;
	for (int j = 0; j < 16; j++) {
		t->lo_len[j] = t->len[j], t->hi_len[j] = t->len[240 + j];
		t->lo_code[j] = (uint8_t)t->code[j], t->hi_code[j] = (uint8_t)t->code[240 + j];
		unsigned r = (unsigned)reverse_bits(j, 4) << (M - 4);
		t->mid_lo[j] = (uint8_t)r, t->mid_hi[j] = (uint8_t)(r >> 8);
		t->mid_prefix[j] = (j >= 1 && j <= 14) ? (uint8_t)t->code[16 * j] : 0;
	}
	for (int s = 0; s < 256; s++) {
		t->lit[s] = t->code[s] | (uint32_t)t->len[s] << 16;
		// The SIMD coders build the codes from the nibble tables: check the shape held.
		int h = s >> 4, j = s & 15;
		unsigned simd = (h == 0 || h == 15) ? (h ? t->hi_code[j] : t->lo_code[j])
		                                    : (unsigned)(t->mid_prefix[h] | t->mid_lo[j] | t->mid_hi[j] << 8);
		if (simd != t->code[s] || t->len[s] > 12 || ((h == 0 || h == 15) && t->len[s] > 8)) return -1;
	}
	for (unsigned l = 3; l <= 258; l++) {
		int c = len_sym(l), sym = 257 + c;
		// The one distance code (distance 1) is the single bit 0.
		t->run_bits[l] = t->code[sym] | (uint32_t)(l - len_base[c]) << t->len[sym];
		t->run_len[l] = (uint8_t)(t->len[sym] + len_extra[c] + 1);
	}
	return 0;
}

// write_header starts the one dynamic Huffman block: the 286 literal/length
// lengths and one distance code (length 1), run-length coded with code 16.
static int write_header(bitw *w, const fp_table *t) {
	static const uint8_t order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
	uint8_t all[287], sym[287], ext[287];
	memcpy(all, t->len, 286);
	all[286] = 1;
	int ns = 0;
	for (int i = 0; i < 287;) {
		int v = all[i], r = 1;
		while (i + r < 287 && all[i + r] == v) r++;
		sym[ns] = (uint8_t)v, ext[ns++] = 0;
		i++, r--;
		while (r >= 3) {
			int k = r > 6 ? 6 : r;
			sym[ns] = 16, ext[ns++] = (uint8_t)(k - 3);
			i += k, r -= k;
		}
		for (; r > 0; r--, i++) sym[ns] = (uint8_t)v, ext[ns++] = 0;
	}
	uint32_t freq[19] = {0}, f[19];
	for (int i = 0; i < ns; i++) freq[sym[i]]++;
	int used[19], nu = 0;
	for (int s = 0; s < 19; s++)
		if (freq[s]) used[nu] = s, f[nu++] = freq[s];
	if (nu < 2) used[nu] = used[0] == 0 ? 1 : 0, f[nu++] = 0; // a complete code needs two symbols
	uint8_t ul[19], cl[19] = {0};
	uint16_t cc[19];
	if (fit_lengths(f, nu, 1, 7, 128, ul) >= FIT_INF) return -1;
	for (int i = 0; i < nu; i++) cl[used[i]] = ul[i];
	canonical(cl, 19, cc);
	int hclen = 19;
	while (hclen > 4 && !cl[order[hclen - 1]]) hclen--;
	put(w, 1, 1); // the final block
	put(w, 2, 2); // dynamic Huffman codes
	put(w, 286 - 257, 5);
	put(w, 0, 5); // one distance code
	put(w, (uint64_t)(hclen - 4), 4);
	for (int i = 0; i < hclen; i++) put(w, cl[order[i]], 3);
	for (int i = 0; i < ns; i++) {
		put(w, cc[sym[i]], cl[sym[i]]);
		if (sym[i] == 16) put(w, ext[i], 2);
	}
	return 0;
}

// ---- the image

static const uint8_t filter_type[3] = {1, 2, 4}; // Sub, Up, Paeth

// Scratch: three residual rows, a zero row, a zero mask; each with slack for
// the SIMD loads past the row.
static size_t pad(size_t n) { return (n + 64 + 63) & ~(size_t)63; }

int64_t fp_scratch_size(int64_t w, int bpp) {
	size_t n = (size_t)w * bpp;
	return (int64_t)(4 * pad(n) + 2 * 8 * ((n + 63) / 64 + FP_MASK_PAD));
}

static uint64_t raw_size(int64_t w, int64_t h, int bpp) { return (uint64_t)h * ((uint64_t)w * bpp + 1); }

// stored_size: the zlib stream of the image in stored blocks (filter None).
static uint64_t stored_size(int64_t w, int64_t h, int bpp) {
	uint64_t raw = raw_size(w, h, bpp), blocks = raw ? (raw + 65534) / 65535 : 1;
	return 2 + raw + 5 * blocks + 4;
}

// row_bound: the most bytes one coded row takes (12 bits a literal at most;
// runs take less), with the writer's 8 bytes of slack.
static uint64_t row_bound(int64_t w, int bpp) { return ((uint64_t)w * bpp + 1) * 12 / 8 + 16; }

#define HEADER_BOUND 512

int64_t fp_max_zlib(int64_t w, int64_t h, int bpp) {
	return (int64_t)(stored_size(w, h, bpp) + row_bound(w, bpp) + HEADER_BOUND + 16);
}

static void put_be32(uint8_t *p, uint32_t v) {
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

// write_stored writes the image as stored blocks of filter-None rows: for
// noise, where the Huffman code would only add.
static int64_t write_stored(const uint8_t *pix, int64_t w, int64_t h, int bpp, int64_t stride, uint8_t *dst,
                            int64_t cap) {
	uint64_t total = stored_size(w, h, bpp), raw = raw_size(w, h, bpp), n = (uint64_t)w * bpp;
	if ((uint64_t)cap < total) return FP_SHORT;
	uint8_t *o = dst + 2;
	uint32_t adler = 1;
	uint64_t done = 0, y = 0, x = 0; // x: bytes of row y already out, counting its filter byte
	while (done < raw) {
		uint64_t blk = raw - done > 65535 ? 65535 : raw - done;
		*o++ = done + blk == raw;
		o[0] = (uint8_t)blk, o[1] = (uint8_t)(blk >> 8), o[2] = (uint8_t)~blk, o[3] = (uint8_t)(~blk >> 8);
		o += 4;
		for (uint64_t left = blk; left;) {
			if (x == 0) {
				*o++ = 0, x = 1, left--;
				adler = fp_portable.adler(adler, o - 1, 1);
				continue;
			}
			uint64_t k = n + 1 - x < left ? n + 1 - x : left;
			memcpy(o, pix + y * stride + (x - 1), k);
			adler = fp_portable.adler(adler, o, k);
			o += k, x += k, left -= k;
			if (x == n + 1) x = 0, y++;
		}
		done += blk;
	}
	put_be32(o, adler);
	return (int64_t)(o + 4 - dst);
}

typedef struct rows {
	const uint8_t *pix;
	int64_t w, h, stride;
	int bpp;
	size_t n; // bytes a row
	uint8_t *res[3], *zero;
	uint64_t *mask, *starts; // zero mask and run starts of a residual row
} rows;

static const uint8_t *prev_row(const rows *r, int64_t y) { return y ? r->pix + (y - 1) * r->stride : r->zero; }

// sample_table fits the code to ~64 rows spread over the image, each filtered
// with the predictor of least absolute residual.
static int sample_table(const rows *r, const fp_kernels *k, fp_table *t) {
	uint64_t freq[286] = {0};
	int64_t step = r->h / 64 > 1 ? r->h / 64 : 1;
	for (int64_t y = 0; y < r->h; y += step) {
		uint64_t cost[3] = {0, 0, 0};
		k->filter3(r->pix + y * r->stride, prev_row(r, y), r->n, r->bpp, r->res, NULL, cost);
		int best = 0;
		for (int p = 1; p < 3; p++)
			if (cost[p] < cost[best]) best = p;
		freq[filter_type[best]]++;
		count_row(r->res[best], r->n, r->mask, r->starts, freq, k);
	}
	for (int s = 0; s < 286; s++) freq[s]++; // every symbol gets a code
	return build_table(freq, t);
}

int64_t fp_encode(const uint8_t *pix, int64_t w, int64_t h, int bpp, int64_t stride, uint8_t *dst, int64_t cap,
                  uint8_t *scratch, int simd) {
	if (w <= 0 || h <= 0 || bpp < 1 || bpp > 4 || stride < w * bpp) return FP_BADARG;
	const fp_kernels *k = simd && fp_avx2() ? fp_avx2() : &fp_portable;
	rows r = {pix, w, h, stride, bpp, (size_t)w * bpp, {0}, 0, 0, 0};
	size_t pn = pad(r.n);
	for (int i = 0; i < 3; i++) r.res[i] = scratch + i * pn;
	r.zero = scratch + 3 * pn;
	r.mask = (uint64_t *)(scratch + 4 * pn);
	r.starts = r.mask + (r.n + 63) / 64 + FP_MASK_PAD;
	memset(r.mask, 0, 2 * 8 * ((r.n + 63) / 64 + FP_MASK_PAD));
	memset(r.zero, 0, pn);
	for (int i = 0; i < 3; i++) memset(r.res[i] + r.n, 0, pn - r.n);

	fp_table t;
	if (sample_table(&r, k, &t) < 0) return FP_BADARG;
	uint64_t stored = stored_size(w, h, bpp), rb = row_bound(w, bpp);
	if ((uint64_t)cap < 2 + HEADER_BOUND) return FP_SHORT;
	dst[0] = 0x78, dst[1] = 0x01; // deflate, 32K window, fastest
	bitw bw = {dst + 2, 0, 0};
	if (write_header(&bw, &t) < 0) return FP_BADARG;
	uint32_t adler = 1;
	for (int64_t y = 0; y < h; y++) {
		if ((uint64_t)(cap - (bw.p - dst)) < rb) return FP_SHORT;
		const uint8_t *cur = pix + y * stride;
		uint64_t cost[3] = {0, 0, 0};
		k->filter3(cur, prev_row(&r, y), r.n, bpp, r.res, &t, cost);
		int best = 0;
		for (int p = 1; p < 3; p++)
			if (cost[p] < cost[best]) best = p;
		uint8_t ft = filter_type[best];
		put(&bw, t.lit[ft] & 0xffff, t.lit[ft] >> 16);
		code_row(&bw, r.res[best], r.n, r.mask, r.starts, &t, k);
		adler = k->adler(k->adler(adler, &ft, 1), r.res[best], r.n);
		if ((uint64_t)(bw.p - dst) + 1 > stored) return write_stored(pix, w, h, bpp, stride, dst, cap);
	}
	if ((uint64_t)(cap - (bw.p - dst)) < 16) return FP_SHORT;
	put(&bw, t.code[256], t.len[256]); // end of block
	if (bw.n) put(&bw, 0, 8 - bw.n);
	if ((uint64_t)(bw.p - dst) + 4 > stored) return write_stored(pix, w, h, bpp, stride, dst, cap);
	put_be32(bw.p, adler);
	return (int64_t)(bw.p + 4 - dst);
}

#if !defined(__x86_64__)
const fp_kernels *fp_avx2(void) { return NULL; }
const char *fp_simd_name(void) { return "portable"; }
#endif
