"""Our own C kernels for the 4-bit CPU runtime: Q4_0/Q8_0 matrix products for any number of
rows, and one call per HRM module call that runs every layer for a whole prompt chunk
(prefill) or one token (decode).

Why C: a token of a 30-layer model is ~200 small matmuls plus ~30 torch ops per layer; at a
few microseconds of Python/torch dispatch each, and with ggml starting its threads once per
one-node graph, overhead dwarfs the arithmetic. One call per module call removes both, and
HRM re-reads the same layers every cycle, so their weights stay in cache across calls.

Weights are repacked once at load (`hrm_pack`): eight rows interleaved per 32-column block,
so an integer dot instruction (VNNI's vpdpbusd, or AVX2's pmaddubsw/pmaddwd) gives each row's
block product in its own 32-bit lane, with no horizontal sums; a prompt chunk reuses each
unpacked weight block for four activation rows. Q4_0 nibbles enter as unsigned values and the
-8 offset is folded into the accumulator's starting value (-8 * the block's activation sum).

Numerics follow ggml's CPU path: activations are quantised to Q8_0 per row (d = amax / 127,
stored as fp16, round half away from zero), each block's integer dot product is scaled by
both fp16 scales. Only the order of float additions differs from ggml (results agree to
~1e-6 relative). The block math is model.py's (pre-norm attention with NEOX RoPE and GQA,
SwiGLU, RMSNorm; causal plus block-bidirectional masks as a per-row key limit); attention is
an online softmax over blocks of 16 keys, split over key ranges when decoding one token.
Tests check every kernel against the torch path on the same quantised weights.

The source is compiled with the system C compiler on first use into hrm's cache directory
and loaded with ctypes. It is built with -march=native, so a build is named by a hash of the
source, the flags, the compiler and its version, and this CPU's instruction-set flags: a home
directory shared by machines with different CPUs never hands one the other's build (SIGILL).
No compiler, or HRM_KERNEL=torch|ggml: `lib()` is None and the runtime keeps its other
kernels. A failed build or load does the same after one warning line on stderr (HRM_DEBUG=1
prints the compiler's output); an unwritable cache builds in a temporary directory instead.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path

SOURCE = r"""
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define HRM_SIMD 1
#include <immintrin.h>
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
#define HRM_VNNI 1
#define DPBUSD(a, u, s) _mm256_dpbusd_epi32(a, u, s)
#elif defined(__AVXVNNI__)
#define HRM_VNNI 1
#define DPBUSD(a, u, s) _mm256_dpbusd_avx_epi32(a, u, s)
#endif
#endif

enum { T_Q4_0 = 2, T_Q8_0 = 8 };
typedef struct { uint16_t d; uint8_t qs[16]; } bq4;  /* GGUF blocks of 32 weights */
typedef struct { uint16_t d; int8_t qs[32]; } bq8;

/* ---- fp16 <-> fp32 --------------------------------------------------------------------- */
static inline float h2f(uint16_t h) {
#if defined(__F16C__)
    return _cvtsh_ss(h);
#else
    uint32_t s = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, b;
    if (e == 0) {
        if (m == 0) { b = s; }
        else { e = 113; while (!(m & 0x400)) { m <<= 1; e--; } b = s | (e << 23) | ((m & 0x3ff) << 13); }
    } else if (e == 31) { b = s | 0x7f800000u | (m << 13); }
    else { b = s | ((e + 112) << 23) | (m << 13); }
    float f; memcpy(&f, &b, 4); return f;
#endif
}

static inline uint16_t f2h(float f) {
#if defined(__F16C__)
    return _cvtss_sh(f, 0);
#else
    uint32_t b; memcpy(&b, &f, 4);
    uint32_t s = (b >> 16) & 0x8000; int e = (int)((b >> 23) & 0xff) - 112; uint32_t m = b & 0x7fffff;
    if (e <= 0) {  /* subnormal half (or zero): round to nearest even on the shifted mantissa */
        if (e < -10) return (uint16_t)s;
        m |= 0x800000; int sh = 14 - e; uint32_t r = m >> sh, rem = m & ((1u << sh) - 1), half = 1u << (sh - 1);
        if (rem > half || (rem == half && (r & 1))) r++;
        return (uint16_t)(s | r);
    }
    if (e >= 31) return (uint16_t)(s | 0x7c00);
    uint32_t r = m + 0xfff + ((m >> 13) & 1);
    if (r & 0x800000) { r = 0; e++; if (e >= 31) return (uint16_t)(s | 0x7c00); }
    return (uint16_t)(s | ((uint32_t)e << 10) | (r >> 13));
#endif
}

/* ---- packed weights ---------------------------------------------------------------------
   Eight rows are interleaved per 32-column block so one 256-bit register holds 4 weights of
   each of the 8 rows: an integer dot product then lands in one 32-bit lane per row and needs
   no horizontal sum. A group-block is the 8 fp16 scales, then the quants:
     Q4_0: 4 x [8 rows x 4 bytes]; byte j of a row holds weights j (low nibble), j+16 (high);
     Q8_0: 8 x [8 rows x 4 bytes], biased by +128 where the dot instruction wants unsigned.
   Rows past n are zero. The layout is private to one build of this file. */
#if defined(HRM_VNNI)
#define Q8_BIAS 0x80
#else
#define Q8_BIAS 0
#endif
#define GB4 144
#define GB8 272
static inline size_t gblock(int t) { return t == T_Q4_0 ? GB4 : GB8; }

size_t hrm_packed_bytes(int t, int n, int k) {
    return (size_t)((n + 7) / 8) * (size_t)(k / 32) * gblock(t);
}

void hrm_pack(int t, const void *src, int n, int k, uint8_t *dst) {
    const int nb = k / 32, ng = (n + 7) / 8;
    const size_t GB = gblock(t);
    for (int g = 0; g < ng; g++) {
        for (int b = 0; b < nb; b++) {
            uint8_t *o = dst + ((size_t)g * nb + b) * GB;
            memset(o, 0, GB);
            for (int r = 0; r < 8; r++) {
                int row = 8 * g + r;
                if (row >= n) break;
                if (t == T_Q4_0) {
                    const bq4 *w = (const bq4 *)src + (size_t)row * nb + b;
                    memcpy(o + 2 * r, &w->d, 2);
                    for (int c = 0; c < 4; c++) memcpy(o + 16 + 32 * c + 4 * r, w->qs + 4 * c, 4);
                } else {
                    const bq8 *w = (const bq8 *)src + (size_t)row * nb + b;
                    memcpy(o + 2 * r, &w->d, 2);
                    for (int c = 0; c < 8; c++)
                        for (int i = 0; i < 4; i++)
                            o[16 + 32 * c + 4 * r + i] = (uint8_t)(w->qs[4 * c + i] ^ Q8_BIAS);
                }
            }
        }
    }
}

/* fp32 rows of a packed matrix (ids NULL: rows 0..m-1): embedding lookups and the torch
   path read the weights back from the only copy kept. (q - 8) * d and q * d, as quant.py. */
void hrm_dequant_rows(int t, const uint8_t *w, int k, const int64_t *ids, int m, float *out) {
    const int nb = k / 32;
    const size_t GB = gblock(t);
    for (int i = 0; i < m; i++) {
        int64_t row = ids ? ids[i] : i;
        const uint8_t *g = w + (size_t)(row / 8) * nb * GB;
        const int r = (int)(row % 8);
        float *o = out + (size_t)i * k;
        for (int b = 0; b < nb; b++) {
            const uint8_t *p = g + (size_t)b * GB;
            uint16_t dh; memcpy(&dh, p + 2 * r, 2);
            const float d = h2f(dh);
            if (t == T_Q4_0) {
                for (int c4 = 0; c4 < 4; c4++)
                    for (int j = 0; j < 4; j++) {
                        int byte = p[16 + 32 * c4 + 4 * r + j];
                        o[32 * b + 4 * c4 + j] = (float)((byte & 15) - 8) * d;
                        o[32 * b + 16 + 4 * c4 + j] = (float)((byte >> 4) - 8) * d;
                    }
            } else {
                for (int c8 = 0; c8 < 8; c8++)
                    for (int j = 0; j < 4; j++)
                        o[32 * b + 4 * c8 + j] = (float)(int8_t)(p[16 + 32 * c8 + 4 * r + j] ^ Q8_BIAS) * d;
            }
        }
    }
}

/* Ask for 2 MB pages over [p, p + n) before it is first written: weights are streamed once
   per token, and 4 KB pages stop the hardware prefetcher at every page boundary. */
int hrm_advise_huge(void *p, size_t n) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t H = (uintptr_t)2 << 20, a = ((uintptr_t)p + H - 1) & ~(H - 1);
    const uintptr_t e = ((uintptr_t)p + n) & ~(H - 1);
    return e > a ? madvise((void *)a, e - a, MADV_HUGEPAGE) : 0;
#else
    (void)p; (void)n;
    return 0;
#endif
}

/* ---- activations: Q8_0 rows, as ggml quantises them --------------------------------------
   d = amax / 127 rounded to fp16 (the scale the dot product uses), q = round(x / d) half away
   from zero, and -sum(q) per block for the unsigned-weight correction. */
typedef struct { int8_t *q; float *d; int32_t *s; int k; } xq_t;

static size_t xq_bytes(int k) { return (size_t)k + (size_t)(k / 32) * 8; }

static xq_t xq_at(uint8_t *base, int k, int row) {
    xq_t x; uint8_t *p = base + xq_bytes(k) * (size_t)row;
    x.q = (int8_t *)p; x.d = (float *)(p + k); x.s = (int32_t *)(p + k + (size_t)(k / 32) * 4);
    x.k = k; return x;
}

static void quant_row(const float *v, xq_t x) {
    for (int b = 0; b < x.k / 32; b++) {
        const float *u = v + 32 * b;
        float amax = 0.f;
        int sum = 0;
#if defined(HRM_SIMD)
        const __m256 sign = _mm256_set1_ps(-0.f);
        __m256 m = _mm256_setzero_ps();
        for (int j = 0; j < 32; j += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(u + j)));
        __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        amax = _mm_cvtss_f32(_mm_max_ss(h, _mm_movehdup_ps(h)));
        const float d = amax / 127.f, id = d ? 1.f / d : 0.f;
        __m256i s = _mm256_setzero_si256();
        for (int j = 0; j < 32; j += 8) {
            /* roundf: to nearest, halves away from zero (the tie test is exact: y - trunc(y)) */
            __m256 y = _mm256_mul_ps(_mm256_loadu_ps(u + j), _mm256_set1_ps(id));
            __m256 t = _mm256_round_ps(y, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            __m256 r = _mm256_round_ps(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            __m256 tie = _mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_sub_ps(y, t)), _mm256_set1_ps(0.5f), _CMP_EQ_OQ);
            __m256 away = _mm256_add_ps(t, _mm256_or_ps(_mm256_and_ps(y, sign), _mm256_set1_ps(1.f)));
            __m256i q = _mm256_cvtps_epi32(_mm256_blendv_ps(r, away, tie));
            s = _mm256_add_epi32(s, q);
            __m128i q16 = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
            _mm_storel_epi64((__m128i *)(x.q + 32 * b + j), _mm_packs_epi16(q16, q16));
        }
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        s4 = _mm_hadd_epi32(s4, s4);
        sum = _mm_cvtsi128_si32(_mm_hadd_epi32(s4, s4));
#else
        for (int j = 0; j < 32; j++) { float a = fabsf(u[j]); if (a > amax) amax = a; }
        const float d = amax / 127.f, id = d ? 1.f / d : 0.f;
        for (int j = 0; j < 32; j++) { int q = (int)roundf(u[j] * id); x.q[32 * b + j] = (int8_t)q; sum += q; }
#endif
        x.d[b] = h2f(f2h(d));
        x.s[b] = -sum;
    }
}

/* ---- tile kernels: G groups of 8 weight rows x C activation rows -------------------------
   out[(gi * C + c) * 8 + r] = row 8 * gi + r (relative) . activation c. */
#if defined(HRM_SIMD)
static inline __m256i dp4(__m256i acc, __m256i u, __m256i s) {  /* u in [0, 15] */
#if defined(HRM_VNNI)
    return DPBUSD(acc, u, s);
#else
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
#endif
}
static inline __m256i dp8(__m256i acc, __m256i w, __m256i s) {  /* w biased (VNNI) or signed */
#if defined(HRM_VNNI)
    return DPBUSD(acc, w, s);
#else
    return _mm256_add_epi32(acc, _mm256_madd_epi16(
        _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(s, w)), _mm256_set1_epi16(1)));
#endif
}
static inline __m256i bcast4(const int8_t *p) { int32_t v; memcpy(&v, p, 4); return _mm256_set1_epi32(v); }

static inline __attribute__((always_inline)) void tile(
        const int t, const int G, const int C, const uint8_t *w, size_t gstride, int nb,
        const xq_t *x, float *out) {
    __m256 acc[2][4];
    for (int gi = 0; gi < G; gi++) for (int c = 0; c < C; c++) acc[gi][c] = _mm256_setzero_ps();
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    const size_t GB = t == T_Q4_0 ? GB4 : GB8;
    for (int b = 0; b < nb; b++) {
        for (int gi = 0; gi < G; gi++) {
            const uint8_t *p = w + gi * gstride + (size_t)b * GB;
            __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
            __m256i wv[8];
            if (t == T_Q4_0) {
                for (int c4 = 0; c4 < 4; c4++) {
                    __m256i v = _mm256_loadu_si256((const __m256i *)(p + 16 + 32 * c4));
                    wv[c4] = _mm256_and_si256(v, m4);
                    wv[c4 + 4] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
                }
            } else {
                for (int c8 = 0; c8 < 8; c8++) wv[c8] = _mm256_loadu_si256((const __m256i *)(p + 16 + 32 * c8));
            }
            for (int c = 0; c < C; c++) {
                const int8_t *xb = x[c].q + 32 * b;
                __m256i a0, a1;
                if (t == T_Q4_0) {
                    a0 = _mm256_set1_epi32(x[c].s[b] * 8);
                    a1 = _mm256_setzero_si256();
                    /* weights j..j+3 (low nibbles) meet x[4c4..], j+16.. (high) meet x[16+4c4..] */
                    a0 = dp4(a0, wv[0], bcast4(xb + 0));
                    a1 = dp4(a1, wv[4], bcast4(xb + 16));
                    a0 = dp4(a0, wv[1], bcast4(xb + 4));
                    a1 = dp4(a1, wv[5], bcast4(xb + 20));
                    a0 = dp4(a0, wv[2], bcast4(xb + 8));
                    a1 = dp4(a1, wv[6], bcast4(xb + 24));
                    a0 = dp4(a0, wv[3], bcast4(xb + 12));
                    a1 = dp4(a1, wv[7], bcast4(xb + 28));
                } else {
#if defined(HRM_VNNI)
                    a0 = _mm256_set1_epi32(x[c].s[b] * 128);
#else
                    a0 = _mm256_setzero_si256();
#endif
                    a1 = _mm256_setzero_si256();
                    for (int c8 = 0; c8 < 8; c8 += 2) {
                        a0 = dp8(a0, wv[c8], bcast4(xb + 4 * c8));
                        a1 = dp8(a1, wv[c8 + 1], bcast4(xb + 4 * c8 + 4));
                    }
                }
                __m256 sc = _mm256_mul_ps(dw, _mm256_set1_ps(x[c].d[b]));
                acc[gi][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(a0, a1)), sc, acc[gi][c]);
            }
        }
    }
    for (int gi = 0; gi < G; gi++)
        for (int c = 0; c < C; c++) _mm256_storeu_ps(out + (gi * C + c) * 8, acc[gi][c]);
}
#else
static void tile(const int t, const int G, const int C, const uint8_t *w, size_t gstride, int nb,
                 const xq_t *x, float *out) {
    const size_t GB = gblock(t);
    for (int gi = 0; gi < G; gi++)
        for (int c = 0; c < C; c++) {
            float acc[8] = {0};
            for (int b = 0; b < nb; b++) {
                const uint8_t *p = w + gi * gstride + (size_t)b * GB;
                const int8_t *xb = x[c].q + 32 * b;
                for (int r = 0; r < 8; r++) {
                    int sum = 0;
                    if (t == T_Q4_0) {
                        for (int c4 = 0; c4 < 4; c4++)
                            for (int i = 0; i < 4; i++) {
                                int byte = p[16 + 32 * c4 + 4 * r + i];
                                sum += ((byte & 15) - 8) * xb[4 * c4 + i];
                                sum += ((byte >> 4) - 8) * xb[16 + 4 * c4 + i];
                            }
                    } else {
                        for (int c8 = 0; c8 < 8; c8++)
                            for (int i = 0; i < 4; i++)
                                sum += (int8_t)(p[16 + 32 * c8 + 4 * r + i] ^ Q8_BIAS) * xb[4 * c8 + i];
                    }
                    uint16_t dh; memcpy(&dh, p + 2 * r, 2);
                    acc[r] = fmaf((float)sum, h2f(dh) * x[c].d[b], acc[r]);
                }
            }
            memcpy(out + (gi * C + c) * 8, acc, sizeof acc);
        }
}
#endif

/* A weight matrix as the kernels see it. */
typedef struct { const uint8_t *w; int type, n, k; } wmat;

/* y[c][row] (+)= W[row] . x[c] for rows [r0, r1) (r0 a multiple of 8) and activations
   [c0, c1); y rows are ldy floats apart. */
static void gemm_rows(const wmat *W, const xq_t *x, int c0, int c1, int r0, int r1,
                      float *y, size_t ldy, int accumulate) {
    const int nb = W->k / 32;
    const size_t gstride = (size_t)nb * gblock(W->type);
    float out[2 * 4 * 8];
    for (int g = r0 / 8; g * 8 < r1;) {
        /* one activation row (decode): one group at a time, so the weights are read as a
           single forward stream (several interleaved streams halved the bandwidth); a chunk
           of rows: two groups, kept in cache across the activation tiles */
        int G = (r1 - g * 8 + 7) / 8;
        G = G >= 2 && c1 - c0 > 1 ? 2 : 1;
        const uint8_t *wg = W->w + (size_t)g * gstride;
        for (int c = c0; c < c1;) {
            int C = c1 - c >= 4 ? 4 : c1 - c >= 2 ? 2 : 1;
            if (W->type == T_Q4_0) {
                if (G == 2 && C == 4) tile(T_Q4_0, 2, 4, wg, gstride, nb, x + c, out);
                else if (G == 2 && C == 2) tile(T_Q4_0, 2, 2, wg, gstride, nb, x + c, out);
                else if (G == 2) tile(T_Q4_0, 2, 1, wg, gstride, nb, x + c, out);
                else if (C == 4) tile(T_Q4_0, 1, 4, wg, gstride, nb, x + c, out);
                else if (C == 2) tile(T_Q4_0, 1, 2, wg, gstride, nb, x + c, out);
                else tile(T_Q4_0, 1, 1, wg, gstride, nb, x + c, out);
            } else {
                if (G == 2 && C == 4) tile(T_Q8_0, 2, 4, wg, gstride, nb, x + c, out);
                else if (G == 2 && C == 2) tile(T_Q8_0, 2, 2, wg, gstride, nb, x + c, out);
                else if (G == 2) tile(T_Q8_0, 2, 1, wg, gstride, nb, x + c, out);
                else if (C == 4) tile(T_Q8_0, 1, 4, wg, gstride, nb, x + c, out);
                else if (C == 2) tile(T_Q8_0, 1, 2, wg, gstride, nb, x + c, out);
                else tile(T_Q8_0, 1, 1, wg, gstride, nb, x + c, out);
            }
            for (int gi = 0; gi < G; gi++)
                for (int cc = 0; cc < C; cc++) {
                    float *yr = y + (size_t)(c + cc) * ldy;
                    const float *o = out + (gi * C + cc) * 8;
                    int row = (g + gi) * 8;
                    int lim = r1 - row < 8 ? r1 - row : 8;
                    if (accumulate) for (int r = 0; r < lim; r++) yr[row + r] += o[r];
                    else for (int r = 0; r < lim; r++) yr[row + r] = o[r];
                }
            c += C;
        }
        g += G;
    }
}

/* Rows of a work item: chunks of RC rows (a multiple of 8) and TT activations. */
#define TT 32
static inline int n_items(int n, int rc, int m) { return ((n + rc - 1) / rc) * ((m + TT - 1) / TT); }
static inline void item_range(int it, int n, int rc, int m, int *r0, int *r1, int *c0, int *c1) {
    int nr = (n + rc - 1) / rc;
    *r0 = (it % nr) * rc; *r1 = *r0 + rc < n ? *r0 + rc : n;
    *c0 = (it / nr) * TT; *c1 = *c0 + TT < m ? *c0 + TT : m;
}

/* ---- attention ---------------------------------------------------------------------------- */
#if defined(HRM_SIMD)
static inline __m256 exp256(__m256 x) {  /* Cephes-style expf, about 1 ulp on [-87, 88] */
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}
static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
static inline float hmax8(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
/* the 8 sums of a[0..7] (each 8 lanes) as one vector */
static inline __m256 hsum8x8(const __m256 *a) {
    __m256 t0 = _mm256_hadd_ps(a[0], a[1]), t1 = _mm256_hadd_ps(a[2], a[3]);
    __m256 t2 = _mm256_hadd_ps(a[4], a[5]), t3 = _mm256_hadd_ps(a[6], a[7]);
    __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
    return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}
#endif

#define KB 16  /* keys per attention block */

/* Online-softmax state of one query vector. */
typedef struct { float m, l; float *o; } astate;

/* One query vector q (hd floats, pre-scaled) against keys K[0..nk) of a block (rows hd
   apart, f32), values V likewise; folds them into the running state (any head size). */
static void attend_block_any(const float *q, const float *K, const float *V, int nk, int hd,
                             astate *st) {
    float s[KB], bm = -INFINITY, sum = 0.f;
    for (int j = 0; j < nk; j++) {
        float a = 0.f;
        for (int c = 0; c < hd; c++) a += q[c] * K[(size_t)j * hd + c];
        s[j] = a;
        if (a > bm) bm = a;
    }
    float mnew = st->m > bm ? st->m : bm, alpha = expf(st->m - mnew);
    for (int j = 0; j < nk; j++) { s[j] = expf(s[j] - mnew); sum += s[j]; }
    for (int c = 0; c < hd; c++) st->o[c] *= alpha;
    for (int j = 0; j < nk; j++)
        for (int c = 0; c < hd; c++) st->o[c] += s[j] * V[(size_t)j * hd + c];
    st->l = st->l * alpha + sum;
    st->m = mnew;
}

#if defined(HRM_SIMD)
/* The same for a head size known at compile time: q and the output stay in registers, and
   eight keys are dotted at once (eight independent accumulators, one horizontal-sum tree). */
static inline __attribute__((always_inline)) void attend_block_simd(
        const int HD, const float *q, const float *K, const float *V, int nk, astate *st) {
    float s[KB];
    __m256 qv[HD / 8];
    for (int c = 0; c < HD / 8; c++) qv[c] = _mm256_loadu_ps(q + 8 * c);
    for (int j0 = 0; j0 < nk; j0 += 8) {
        const float *kr[8];
        __m256 a[8];
        for (int j = 0; j < 8; j++) {
            kr[j] = K + (size_t)(j0 + j < nk ? j0 + j : j0) * HD;
            a[j] = _mm256_setzero_ps();
        }
        for (int c = 0; c < HD / 8; c++)
            for (int j = 0; j < 8; j++) a[j] = _mm256_fmadd_ps(qv[c], _mm256_loadu_ps(kr[j] + 8 * c), a[j]);
        _mm256_storeu_ps(s + j0, hsum8x8(a));
    }
    float bm = -INFINITY;
    for (int j = 0; j < nk; j++) if (s[j] > bm) bm = s[j];
    const float mnew = st->m > bm ? st->m : bm, alpha = expf(st->m - mnew);
    __m256 mv = _mm256_set1_ps(mnew), sv = _mm256_setzero_ps();
    for (int j0 = 0; j0 < nk; j0 += 8) {
        __m256 p = exp256(_mm256_sub_ps(_mm256_loadu_ps(s + j0), mv));
        if (nk - j0 < 8) {  /* zero the lanes past the block's last key */
            const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            p = _mm256_and_ps(p, _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(nk - j0), lane)));
        }
        sv = _mm256_add_ps(sv, p);
        _mm256_storeu_ps(s + j0, p);
    }
    __m256 o[HD / 8], av = _mm256_set1_ps(alpha);
    for (int c = 0; c < HD / 8; c++) o[c] = _mm256_mul_ps(_mm256_loadu_ps(st->o + 8 * c), av);
    for (int j = 0; j < nk; j++) {
        const __m256 pj = _mm256_set1_ps(s[j]);
        const float *vr = V + (size_t)j * HD;
        for (int c = 0; c < HD / 8; c++) o[c] = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vr + 8 * c), o[c]);
    }
    for (int c = 0; c < HD / 8; c++) _mm256_storeu_ps(st->o + 8 * c, o[c]);
    st->l = st->l * alpha + hsum8(sv);
    st->m = mnew;
}
#endif

#if defined(HRM_SIMD)
/* N query vectors (N <= 4) against one block of keys given transposed, Kt[c * KB + j] (key j,
   dimension c): each step broadcasts one query element against 16 keys, so scores need no
   horizontal sums and every key element loaded serves N queries. lim[v]: the keys vector v
   sees in this block. Then the online-softmax update and P.V as in attend_block_simd. */
static inline __attribute__((always_inline)) void attend_multi(
        const int HD, const int N, const float *const *q, const float *Kt, const float *V,
        const int *lim, astate *const *st) {
    __m256 acc[4][2];
#if defined(__AVX512F__)
    {   /* 16 keys in one register: half the instructions for the same arithmetic */
        __m512 z[4], w[4];  /* even and odd dimensions: two chains per vector */
        for (int v = 0; v < N; v++) z[v] = w[v] = _mm512_setzero_ps();
        for (int c = 0; c < HD; c += 2) {
            const __m512 k = _mm512_loadu_ps(Kt + c * KB), k2 = _mm512_loadu_ps(Kt + (c + 1) * KB);
            for (int v = 0; v < N; v++) {
                z[v] = _mm512_fmadd_ps(_mm512_set1_ps(q[v][c]), k, z[v]);
                w[v] = _mm512_fmadd_ps(_mm512_set1_ps(q[v][c + 1]), k2, w[v]);
            }
        }
        for (int v = 0; v < N; v++) {
            z[v] = _mm512_add_ps(z[v], w[v]);
            acc[v][0] = _mm512_castps512_ps256(z[v]);
            acc[v][1] = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(z[v]), 1));
        }
    }
#else
    for (int v = 0; v < N; v++) acc[v][0] = acc[v][1] = _mm256_setzero_ps();
    for (int c = 0; c < HD; c++) {
        const __m256 k0 = _mm256_loadu_ps(Kt + c * KB), k1 = _mm256_loadu_ps(Kt + c * KB + 8);
        for (int v = 0; v < N; v++) {
            const __m256 qb = _mm256_set1_ps(q[v][c]);
            acc[v][0] = _mm256_fmadd_ps(qb, k0, acc[v][0]);
            acc[v][1] = _mm256_fmadd_ps(qb, k1, acc[v][1]);
        }
    }
#endif
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256 ninf = _mm256_set1_ps(-INFINITY);
    float mold[8] = {0}, mnews[8] = {0}, alphas[8];
    for (int v = 0; v < N; v++) {  /* the new running maxima, then every rescale in one exp */
        const int nk = lim[v];
        const __m256 m0 = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(nk), lane));
        const __m256 m1 = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(nk - 8), lane));
        const float bm = hmax8(_mm256_max_ps(_mm256_blendv_ps(ninf, acc[v][0], m0),
                                             _mm256_blendv_ps(ninf, acc[v][1], m1)));
        mold[v] = st[v]->m;
        mnews[v] = mold[v] > bm ? mold[v] : bm;
    }
    /* exp(-inf) clamps to ~1e-38, not 0: it only ever scales the empty initial state */
    _mm256_storeu_ps(alphas, exp256(_mm256_sub_ps(_mm256_loadu_ps(mold), _mm256_loadu_ps(mnews))));
    for (int v = 0; v < N; v++) {
        const int nk = lim[v];
        const __m256 m0 = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(nk), lane));
        const __m256 m1 = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(nk - 8), lane));
        astate *a = st[v];
        const float mnew = mnews[v], alpha = alphas[v];
        const __m256 mv = _mm256_set1_ps(mnew);
        const __m256 p0 = _mm256_and_ps(exp256(_mm256_sub_ps(acc[v][0], mv)), m0);
        const __m256 p1 = _mm256_and_ps(exp256(_mm256_sub_ps(acc[v][1], mv)), m1);
        float p[KB];
        _mm256_storeu_ps(p, p0);
        _mm256_storeu_ps(p + 8, p1);
        __m256 o[HD / 8];
        const __m256 av = _mm256_set1_ps(alpha);
        for (int c = 0; c < HD / 8; c++) o[c] = _mm256_mul_ps(_mm256_loadu_ps(a->o + 8 * c), av);
        for (int j = 0; j < nk; j++) {
            const __m256 pj = _mm256_set1_ps(p[j]);
            const float *vr = V + (size_t)j * HD;
            for (int c = 0; c < HD / 8; c++) o[c] = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vr + 8 * c), o[c]);
        }
        for (int c = 0; c < HD / 8; c++) _mm256_storeu_ps(a->o + 8 * c, o[c]);
        a->l = a->l * alpha + hsum8(_mm256_add_ps(p0, p1));
        a->m = mnew;
    }
}

static inline __attribute__((always_inline)) void attend_multi_hd(
        const int HD, int n, const float *const *q, const float *Kt, const float *V,
        const int *lim, astate *const *st) {
    switch (n) {
    case 4: attend_multi(HD, 4, q, Kt, V, lim, st); break;
    case 3: attend_multi(HD, 3, q, Kt, V, lim, st); break;
    case 2: attend_multi(HD, 2, q, Kt, V, lim, st); break;
    default: attend_multi(HD, 1, q, Kt, V, lim, st); break;
    }
}

/* Whether attend_vectors has a register-blocked path for this head size. */
static inline int multi_hd(int hd) { return hd == 32 || hd == 64 || hd == 128; }
#endif

/* Fold one key block into the states of n query vectors. K rows (f32, hd apart) always;
   Kt the same block transposed, or NULL to read K row by row. */
static void attend_vectors(int hd, int n, const float *const *q, const float *K, const float *Kt,
                           const float *V, const int *lim, astate *const *st) {
#if defined(HRM_SIMD)
    if (Kt) {
        for (int i = 0; i < n; i += 4) {
            const int m = n - i < 4 ? n - i : 4;
            if (hd == 64) attend_multi_hd(64, m, q + i, Kt, V, lim + i, st + i);
            else if (hd == 128) attend_multi_hd(128, m, q + i, Kt, V, lim + i, st + i);
            else attend_multi_hd(32, m, q + i, Kt, V, lim + i, st + i);
        }
        return;
    }
    if (multi_hd(hd)) {  /* few vectors per block (decode): no transposition */
        for (int i = 0; i < n; i++) {
            if (hd == 64) attend_block_simd(64, q[i], K, V, lim[i], st[i]);
            else if (hd == 128) attend_block_simd(128, q[i], K, V, lim[i], st[i]);
            else attend_block_simd(32, q[i], K, V, lim[i], st[i]);
        }
        return;
    }
#else
    (void)Kt;
#endif
    for (int i = 0; i < n; i++) attend_block_any(q[i], K, V, lim[i], hd, st[i]);
}

typedef struct {
    int d, n_heads, n_kv, hd, hidden, max_len, slot_stride;  /* slot_stride in elements */
    float eps;
    int kv_f16;  /* the cache holds fp16 keys and values */
} hrm_dims;

/* Key/value rows [k0, k0 + n) of one head as f32: the cache itself, or converted into buf. */
static const float *kv_rows(const hrm_dims *D, const void *base, int k0, int n, float *buf) {
    if (!D->kv_f16) return (const float *)base + (size_t)k0 * D->hd;
    const uint16_t *h = (const uint16_t *)base + (size_t)k0 * D->hd;
    int cnt = n * D->hd, i = 0;
#if defined(HRM_SIMD)
    for (; i + 8 <= cnt; i += 8)
        _mm256_storeu_ps(buf + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))));
#endif
    for (; i < cnt; i++) buf[i] = h2f(h[i]);
    return buf;
}

static void kv_store(const hrm_dims *D, void *base, int pos, const float *v) {
    if (!D->kv_f16) { memcpy((float *)base + (size_t)pos * D->hd, v, sizeof(float) * D->hd); return; }
    uint16_t *h = (uint16_t *)base + (size_t)pos * D->hd;
    for (int i = 0; i < D->hd; i++) h[i] = f2h(v[i]);
}

/* Attention of rows [t0, t1) (positions pos0 + t), the rep query heads of KV head g, over
   keys [k0, min(k1, kend[t])). Scratch: 3 * KB * hd floats. States st[(t - t0) * rep + r]. */
static void attend_tile(const hrm_dims *D, const float *q, size_t ldq, int g, int t0, int t1,
                        const void *Kh, const void *Vh, int k0, int k1, const int *kend,
                        astate *st, float *scratch) {
    const int hd = D->hd, rep = D->n_heads / D->n_kv;
    int kmax = 0;
    for (int t = t0; t < t1; t++) { int e = kend[t] < k1 ? kend[t] : k1; if (e > kmax) kmax = e; }
    float *Kt = NULL;
#if defined(HRM_SIMD)
    /* Transposing a key block pays off when many query vectors share it (a prompt chunk's
       16-row tile); one token's few heads read the keys row by row instead. */
    if (multi_hd(hd) && (t1 - t0) * rep >= 8) Kt = scratch + 2 * KB * hd;
#endif
    const float *qv[4 * 16];
    astate *sv[4 * 16];
    int lim[4 * 16];
    for (int kb = k0; kb < kmax; kb += KB) {
        int nk = kmax - kb < KB ? kmax - kb : KB;
        const float *K = kv_rows(D, Kh, kb, nk, scratch);
        const float *V = kv_rows(D, Vh, kb, nk, scratch + KB * hd);
        if (Kt) {
            for (int c = 0; c < hd; c++) {
                for (int j = 0; j < nk; j++) Kt[c * KB + j] = K[(size_t)j * hd + c];
                for (int j = nk; j < KB; j++) Kt[c * KB + j] = 0.f;
            }
        }
        int n = 0;
        for (int t = t0; t < t1; t++) {
            int e = kend[t] < k1 ? kend[t] : k1;
            if (e <= kb) continue;
            for (int r = 0; r < rep; r++) {
                qv[n] = q + (size_t)t * ldq + (size_t)(g * rep + r) * hd;
                sv[n] = st + (t - t0) * rep + r;
                lim[n] = e - kb < nk ? e - kb : nk;
                if (++n == 4 * 16) { attend_vectors(hd, n, qv, K, Kt, V, lim, sv); n = 0; }
            }
        }
        if (n) attend_vectors(hd, n, qv, K, Kt, V, lim, sv);
    }
}

static void rmsnorm(const float *x, const float *w, int d, float eps, float *out) {
    float ss = 0.f;
    for (int i = 0; i < d; i++) ss += x[i] * x[i];
    float r = 1.f / sqrtf(ss / d + eps);
    for (int i = 0; i < d; i++) out[i] = x[i] * r * w[i];
}

static void rope(float *x, int hd, const float *c, const float *s) {
    int h = hd / 2;
    for (int i = 0; i < h; i++) {
        float a = x[i], b = x[i + h];
        x[i] = a * c[i] - b * s[i];
        x[i + h] = b * c[i] + a * s[i];
    }
}

static inline float silu_mul(float g, float u) { return g / (1.f + expf(-g)) * u; }

/* u[i] = silu(g[i]) * u[i] for n values (exp256: within an ulp or two of expf) */
static void silu_mul_rows(const float *g, float *u, int n) {
    int i = 0;
#if defined(HRM_SIMD)
    const __m256 one = _mm256_set1_ps(1.f), sign = _mm256_set1_ps(-0.f);
    for (; i + 8 <= n; i += 8) {
        __m256 gv = _mm256_loadu_ps(g + i);
        __m256 e = exp256(_mm256_xor_ps(gv, sign));
        _mm256_storeu_ps(u + i, _mm256_mul_ps(_mm256_div_ps(gv, _mm256_add_ps(one, e)), _mm256_loadu_ps(u + i)));
    }
#endif
    for (; i < n; i++) u[i] = silu_mul(g[i], u[i]);
}

typedef struct {
    const uint8_t *w[7];  /* packed wq wk wv wo w1 w3 w2 */
    int type[7];
    const float *attn_norm, *ffn_norm;
} hrm_layer;

/* ---- thread pool ---------------------------------------------------------------------------
   A call is a list of phases, each a number of work items; a phase may start once every item
   of the one before it is done. Threads claim items with an atomic counter, so a phase ends
   when its work is done, not when every thread has arrived: a thread that the OS has
   descheduled (a busy machine, more runnable threads than cores) delays nobody unless it holds
   an item, and the caller's thread alone can always finish a call. There is no barrier per
   layer or per matrix, and the caller never waits for workers to wake up or to leave.

   Counters carry the call's generation in their high 32 bits, so a worker still looking at an
   earlier call can neither claim nor complete anything of the current one. Outside a claimed
   item a thread touches only the pool's own memory (counters, its thread-local scratch): a
   claim that succeeds proves the call is still running and all it points to still valid. */
#define MAXPH 2048
#define SPIN 4000

typedef struct job job;
struct job {
    void (*fn)(job *, int tid, uint32_t gen);
    void *ctx;
    int nt, nphase;
    _Atomic int count[MAXPH];
    _Atomic uint64_t next[MAXPH], done[MAXPH];
};

static struct {
    pthread_mutex_t run;          /* one call at a time */
    pthread_mutex_t mu;           /* idle workers sleep on cv */
    pthread_cond_t cv;
    _Atomic uint32_t gen;
    _Atomic int sleeping;
    int nworkers;
    job J;
} pool = { .run = PTHREAD_MUTEX_INITIALIZER, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static inline void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Wait, spinning then yielding, until phase p of call gen is complete; 0 if the call is over. */
static int wait_phase(int p, uint32_t gen) {
    if (p < 0) return 1;
    for (int spins = 0;; spins++) {
        uint64_t v = atomic_load_explicit(&pool.J.done[p], memory_order_acquire);
        if ((uint32_t)(v >> 32) != gen) return 0;
        if ((int)(uint32_t)v >= atomic_load_explicit(&pool.J.count[p], memory_order_relaxed)) return 1;
        if (spins < SPIN) relax(); else sched_yield();
    }
}

/* The next item of phase p, or -1 when none is left (or the call is over). */
static int claim(int p, uint32_t gen) {
    uint64_t v = atomic_load_explicit(&pool.J.next[p], memory_order_relaxed);
    for (;;) {
        if ((uint32_t)(v >> 32) != gen) return -1;
        if ((int)(uint32_t)v >= atomic_load_explicit(&pool.J.count[p], memory_order_relaxed)) return -1;
        if (atomic_compare_exchange_weak_explicit(&pool.J.next[p], &v, v + 1,
                                                  memory_order_acq_rel, memory_order_relaxed))
            return (int)(uint32_t)v;
    }
}

static inline void finish(int p) { atomic_fetch_add_explicit(&pool.J.done[p], 1, memory_order_release); }

static void *worker_main(void *arg) {
    const int tid = (int)(intptr_t)arg;
    uint32_t seen = atomic_load(&pool.gen);
    for (;;) {
        uint32_t g;
        for (int spins = 0; (g = atomic_load_explicit(&pool.gen, memory_order_acquire)) == seen; spins++) {
            if (spins < 20 * SPIN) { relax(); continue; }
            pthread_mutex_lock(&pool.mu);
            atomic_fetch_add(&pool.sleeping, 1);
            while (atomic_load(&pool.gen) == seen) pthread_cond_wait(&pool.cv, &pool.mu);
            atomic_fetch_sub(&pool.sleeping, 1);
            pthread_mutex_unlock(&pool.mu);
            spins = 0;
        }
        seen = g;
        if (tid < pool.J.nt) pool.J.fn(&pool.J, tid, g);
    }
    return NULL;
}

/* A child of fork() has none of the parent's workers: start from none (and unlocked). */
static void pool_after_fork(void) {
    pthread_mutex_init(&pool.run, NULL);
    pthread_mutex_init(&pool.mu, NULL);
    pthread_cond_init(&pool.cv, NULL);
    atomic_store(&pool.sleeping, 0);
    pool.nworkers = 0;
}
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static void pool_init(void) { pthread_atfork(NULL, NULL, pool_after_fork); }

/* Run a call of nphase phases (counts given) on nt threads, the caller being thread 0. */
static void run_job(void (*fn)(job *, int, uint32_t), void *ctx, const int *counts, int nphase, int nt) {
    pthread_once(&pool_once, pool_init);
    pthread_mutex_lock(&pool.run);
    while (pool.nworkers < nt - 1 && pool.nworkers < 63) {
        pthread_t th;
        if (pthread_create(&th, NULL, worker_main, (void *)(intptr_t)(pool.nworkers + 1)) != 0) break;
        pthread_detach(th);
        pool.nworkers++;
    }
    if (nt > pool.nworkers + 1) nt = pool.nworkers + 1;
    const uint32_t g = atomic_load(&pool.gen) + 1;
    job *J = &pool.J;
    J->fn = fn; J->ctx = ctx; J->nt = nt; J->nphase = nphase;
    for (int p = 0; p < nphase; p++) {
        atomic_store_explicit(&J->count[p], counts[p], memory_order_relaxed);
        atomic_store_explicit(&J->next[p], (uint64_t)g << 32, memory_order_relaxed);
        atomic_store_explicit(&J->done[p], (uint64_t)g << 32, memory_order_relaxed);
    }
    atomic_store_explicit(&pool.gen, g, memory_order_release);
    if (nt > 1 && atomic_load(&pool.sleeping) > 0) {
        pthread_mutex_lock(&pool.mu);
        pthread_cond_broadcast(&pool.cv);
        pthread_mutex_unlock(&pool.mu);
    }
    fn(J, 0, g);
    wait_phase(nphase - 1, g);
    pthread_mutex_unlock(&pool.run);
}

/* Thread-local scratch, grown on demand and kept for the thread's life. */
static __thread void *tls_buf[8];
static __thread size_t tls_cap[8];
static void *scratch(int i, size_t bytes) {
    if (bytes > tls_cap[i]) {
        free(tls_buf[i]);
        tls_buf[i] = malloc(bytes);
        tls_cap[i] = bytes;
    }
    return tls_buf[i];
}

/* ---- one matrix product -------------------------------------------------------------------- */
typedef struct {
    wmat W; const float *x; int m; float *y;
    uint8_t *xb; xq_t *xs; int rc;
} mm_ctx;

#define ROWS_PER_ITEM 8
static void mm_fn(job *J, int tid, uint32_t g) {
    (void)tid;
    int p = 0;
    const xq_t *xs = NULL;
    if (J->nphase == 2) {  /* phase 0: quantise the rows, shared */
        for (int it; (it = claim(0, g)) >= 0; finish(0)) {
            mm_ctx *c = J->ctx;  /* read only once an item is ours: the call is live */
            for (int r = it * ROWS_PER_ITEM; r < c->m && r < (it + 1) * ROWS_PER_ITEM; r++)
                quant_row(c->x + (size_t)r * c->W.k, c->xs[r]);
        }
        p = 1;
        if (!wait_phase(0, g)) return;
    }
    for (int it; (it = claim(p, g)) >= 0; finish(p)) {
        mm_ctx *c = J->ctx;
        if (!xs) {
            if (c->m > 1) xs = c->xs;
            else {
                xq_t *mine = scratch(0, sizeof(xq_t));
                *mine = xq_at(scratch(1, xq_bytes(c->W.k)), c->W.k, 0);
                quant_row(c->x, *mine);
                xs = mine;
            }
        }
        int r0, r1, c0, c1;
        item_range(it, c->W.n, c->rc, c->m, &r0, &r1, &c0, &c1);
        gemm_rows(&c->W, xs, c0, c1, r0, r1, c->y, c->W.n, 0);
    }
}

/* y (m, n) = x (m, k) @ W.T for packed W, on nt threads. */
void hrm_matmul(int t, const uint8_t *w, int n, int k, const float *x, int m, float *y, int nt) {
    mm_ctx c = { { w, t, n, k }, x, m, y, NULL, NULL, m == 1 ? 64 : 64 };
    if ((double)n * k * m < 262144.0) nt = 1;  /* a hand-off costs more than it saves */
    int counts[2], np = 0;
    if (m > 1) {
        c.xb = malloc(xq_bytes(k) * (size_t)m);
        c.xs = malloc(sizeof(xq_t) * (size_t)m);
        for (int r = 0; r < m; r++) c.xs[r] = xq_at(c.xb, k, r);
        counts[np++] = (m + ROWS_PER_ITEM - 1) / ROWS_PER_ITEM;
    }
    counts[np++] = n_items(n, c.rc, m);
    run_job(mm_fn, &c, counts, np, nt);
    free(c.xs);
    free(c.xb);
}

/* Greedy decoding: the index of the largest of n logits (the first one on ties, as torch). */
int hrm_argmax(const float *y, int n) {
    int best = 0;
    for (int i = 1; i < n; i++) if (y[i] > y[best]) best = i;
    return best;
}

/* ---- one module call ----------------------------------------------------------------------- */
enum { PH_NORM1, PH_QKV, PH_ATTN, PH_QATT, PH_WO, PH_NORM2, PH_GATEUP, PH_QH, PH_DOWN, PH_EXIT };

typedef struct {
    const hrm_dims *D; const hrm_layer *L; int n_layers; const float *out_norm;
    float *x; int T; char *kc, *vc; int slot0, pos0; const int *kend;
    const float *cosr, *sinr;
    int one, nsplit, ntiles, ntt, qn, kvn, rep, H, kmax;
    float scale;
    size_t esz, hstride;
    float *qbuf, *att, *hbuf, *gbuf, *part;
    uint8_t *xqs;               /* T rows of quantised activations (prompt chunks) */
    int ph_kind[MAXPH], ph_layer[MAXPH];
} mf_ctx;

static void mf_prep_one(mf_ctx *c, int kind, int l, xq_t *xs, float *tmp) {
    /* decode: each thread makes its own copy of the small input vector of a phase */
    const hrm_dims *D = c->D;
    const hrm_layer *P = c->L + l;
    const int d = D->d, hd = D->hd, nh = D->n_heads;
    if (kind == PH_QKV || kind == PH_GATEUP) {
        *xs = xq_at((uint8_t *)xs->q, d, 0);
        rmsnorm(c->x, kind == PH_QKV ? P->attn_norm : P->ffn_norm, d, D->eps, tmp);
        quant_row(tmp, *xs);
    } else if (kind == PH_WO) {  /* merge the key ranges of every head */
        *xs = xq_at((uint8_t *)xs->q, c->qn, 0);
        for (int h = 0; h < nh; h++) {
            float M = -INFINITY, Ls = 0.f, *o = tmp + (size_t)h * hd;
            const float *p0 = c->part + (size_t)h * c->nsplit * (hd + 2);
            for (int s = 0; s < c->nsplit; s++) if (p0[s * (hd + 2)] > M) M = p0[s * (hd + 2)];
            memset(o, 0, sizeof(float) * hd);
            for (int s = 0; s < c->nsplit; s++) {
                const float *p = p0 + s * (hd + 2);
                if (p[1] == 0.f) continue;
                float w = expf(p[0] - M);
                Ls += p[1] * w;
                for (int i = 0; i < hd; i++) o[i] += p[2 + i] * w;
            }
            for (int i = 0; i < hd; i++) o[i] /= Ls;
        }
        quant_row(tmp, *xs);
    } else if (kind == PH_DOWN) {
        *xs = xq_at((uint8_t *)xs->q, c->H, 0);
        quant_row(c->hbuf, *xs);
    }
}

#define TILE_ROWS 16  /* query rows per attention item of a prompt chunk */

static void mf_item(mf_ctx *c, int kind, int l, int it, const xq_t *xs, float *tmp) {
    const hrm_dims *D = c->D;
    const hrm_layer *P = c->L + l;
    const int d = D->d, hd = D->hd, nh = D->n_heads, nkv = D->n_kv, H = c->H, T = c->T;
    const int hh = hd / 2, qn = c->qn, rep = c->rep;
    char *K = c->kc + (size_t)(c->slot0 + l) * D->slot_stride * c->esz;
    char *V = c->vc + (size_t)(c->slot0 + l) * D->slot_stride * c->esz;
    const int rc = c->one ? 32 : 64;
    int r0, r1, c0, c1;
    switch (kind) {
    case PH_NORM1: case PH_NORM2: case PH_QATT: case PH_QH: case PH_EXIT: {
        const int k = kind == PH_QATT ? qn : kind == PH_QH ? H : d;
        for (int t = it * ROWS_PER_ITEM; t < T && t < (it + 1) * ROWS_PER_ITEM; t++) {
            xq_t x = xq_at(c->xqs, k, t);
            if (kind == PH_QATT) quant_row(c->att + (size_t)t * qn, x);
            else if (kind == PH_QH) quant_row(c->hbuf + (size_t)t * H, x);
            else if (kind == PH_EXIT) {
                rmsnorm(c->x + (size_t)t * d, c->out_norm, d, D->eps, tmp);
                memcpy(c->x + (size_t)t * d, tmp, sizeof(float) * d);
            } else {
                rmsnorm(c->x + (size_t)t * d, kind == PH_NORM1 ? P->attn_norm : P->ffn_norm, d, D->eps, tmp);
                quant_row(tmp, x);
            }
        }
        break;
    }
    case PH_QKV: {  /* one head of q, k or v for up to TT rows: rope, scale q, cache k and v */
        const int nhead = nh + 2 * nkv;
        const int hix = it % nhead;
        c0 = (it / nhead) * TT; c1 = c0 + TT < T ? c0 + TT : T;
        const int which = hix < nh ? 0 : hix < nh + nkv ? 1 : 2;
        const int head = which == 0 ? hix : which == 1 ? hix - nh : hix - nh - nkv;
        wmat W = { P->w[which], P->type[which], which == 0 ? qn : c->kvn, d };
        gemm_rows(&W, xs, c0, c1, head * hd, head * hd + hd, tmp - (size_t)c0 * hd - (size_t)head * hd, hd, 0);
        for (int t = c0; t < c1; t++) {
            float *v = tmp + (size_t)(t - c0) * hd;
            if (which < 2) rope(v, hd, c->cosr + (size_t)t * hh, c->sinr + (size_t)t * hh);
            if (which == 0) {
                float *o = c->qbuf + (size_t)t * qn + (size_t)head * hd;
                for (int i = 0; i < hd; i++) o[i] = v[i] * c->scale;
            } else {
                kv_store(D, (which == 1 ? K : V) + head * c->hstride, c->pos0 + t, v);
            }
        }
        break;
    }
    case PH_ATTN: {
        int g, t0, t1, k0, k1;
        if (c->one) {
            g = it / c->nsplit; int s = it % c->nsplit, ctx = c->kend[0];
            t0 = 0; t1 = 1; k0 = (int)((long)ctx * s / c->nsplit); k1 = (int)((long)ctx * (s + 1) / c->nsplit);
        } else {  /* the costliest (last) tiles first */
            g = it % nkv; int tile = c->ntiles - 1 - it / nkv;
            t0 = tile * TILE_ROWS; t1 = t0 + TILE_ROWS < T ? t0 + TILE_ROWS : T; k0 = 0; k1 = 1 << 30;
        }
        const int nv = (t1 - t0) * rep;
        astate *st = scratch(4, sizeof(astate) * (size_t)TILE_ROWS * rep);
        float *sto = scratch(5, sizeof(float) * (size_t)TILE_ROWS * rep * hd);
        float *scr = scratch(6, sizeof(float) * (size_t)3 * KB * hd);
        for (int i = 0; i < nv; i++) {
            st[i].m = -INFINITY; st[i].l = 0.f; st[i].o = sto + (size_t)i * hd;
            memset(st[i].o, 0, sizeof(float) * hd);
        }
        attend_tile(D, c->qbuf, qn, g, t0, t1, K + g * c->hstride, V + g * c->hstride, k0, k1, c->kend, st, scr);
        if (c->one) {
            int s = it % c->nsplit;
            for (int r = 0; r < rep; r++) {
                float *p = c->part + ((size_t)(g * rep + r) * c->nsplit + s) * (hd + 2);
                p[0] = st[r].m; p[1] = st[r].l; memcpy(p + 2, st[r].o, sizeof(float) * hd);
            }
        } else {
            for (int t = t0; t < t1; t++)
                for (int r = 0; r < rep; r++) {
                    const astate *a = st + (t - t0) * rep + r;
                    float *o = c->att + (size_t)t * qn + (size_t)(g * rep + r) * hd, il = 1.f / a->l;
                    for (int i = 0; i < hd; i++) o[i] = a->o[i] * il;
                }
        }
        break;
    }
    case PH_WO: case PH_DOWN: {  /* x += W . input */
        wmat W = { P->w[kind == PH_WO ? 3 : 6], P->type[kind == PH_WO ? 3 : 6], d, kind == PH_WO ? qn : H };
        item_range(it, d, rc, T, &r0, &r1, &c0, &c1);
        gemm_rows(&W, xs, c0, c1, r0, r1, c->x, d, 1);
        break;
    }
    case PH_GATEUP: {  /* h = silu(gate) * up, the same rows of both in one item */
        wmat W1 = { P->w[4], P->type[4], H, d }, W3 = { P->w[5], P->type[5], H, d };
        item_range(it, H, rc, T, &r0, &r1, &c0, &c1);
        gemm_rows(&W1, xs, c0, c1, r0, r1, c->gbuf, H, 0);
        gemm_rows(&W3, xs, c0, c1, r0, r1, c->hbuf, H, 0);
        for (int t = c0; t < c1; t++)
            silu_mul_rows(c->gbuf + (size_t)t * H + r0, c->hbuf + (size_t)t * H + r0, r1 - r0);
        break;
    }
    }
}

static void mf_fn(job *J, int tid, uint32_t g) {
    (void)tid;
    for (int p = 0; p < J->nphase; p++) {
        if (!wait_phase(p - 1, g)) return;
        int prepared = 0;
        xq_t *xs = NULL;
        float *tmp = NULL;
        for (int it; (it = claim(p, g)) >= 0; finish(p)) {
            mf_ctx *c = J->ctx;  /* read only once an item is ours: the call is live */
            const int kind = c->ph_kind[p], l = c->ph_layer[p];
            if (!prepared) {
                tmp = scratch(2, sizeof(float) * (size_t)(c->kmax > TT * c->D->hd ? c->kmax : TT * c->D->hd));
                if (c->one) {
                    xs = scratch(3, sizeof(xq_t));
                    xs->q = (int8_t *)scratch(7, xq_bytes(c->kmax));
                    mf_prep_one(c, kind, l, xs, tmp);
                } else {
                    xs = scratch(3, sizeof(xq_t) * (size_t)c->T);
                    const int k = kind == PH_WO ? c->qn : kind == PH_DOWN ? c->H : c->D->d;
                    for (int t = 0; t < c->T; t++) xs[t] = xq_at(c->xqs, k, t);
                }
                prepared = 1;
            }
            mf_item(c, kind, l, it, xs, tmp);
        }
    }
}

/* One module call on T rows: every layer (pre-norm attention over the KV cache slots
   slot0.., then SwiGLU), then the exit RMSNorm when given; in place on x (T x d). Row t sits
   at position pos0 + t and sees keys [0, kend[t]). A prompt chunk quantises its rows once
   per phase, shared; a single token (decode) has every thread normalise and quantise its own
   copy of the small vectors instead, and splits attention over key ranges, merged after. */
void hrm_module_forward(const hrm_dims *D, const hrm_layer *L, int n_layers, const float *out_norm,
                        float *x, int T, void *kc, void *vc, int slot0, int pos0, const int *kend,
                        const float *cosr, const float *sinr, int nt) {
    mf_ctx *c = calloc(1, sizeof(mf_ctx));
    const int d = D->d, hd = D->hd, nh = D->n_heads, nkv = D->n_kv, H = D->hidden;
    c->D = D; c->L = L; c->n_layers = n_layers; c->out_norm = out_norm; c->x = x; c->T = T;
    c->kc = kc; c->vc = vc; c->slot0 = slot0; c->pos0 = pos0; c->kend = kend;
    c->cosr = cosr; c->sinr = sinr;
    c->one = T == 1; c->qn = nh * hd; c->kvn = nkv * hd; c->rep = nh / nkv; c->H = H;
    c->kmax = d > H ? (d > c->qn ? d : c->qn) : (H > c->qn ? H : c->qn);
    c->scale = 1.f / sqrtf((float)hd);
    c->esz = D->kv_f16 ? 2 : 4;
    c->hstride = (size_t)D->max_len * hd * c->esz;
    c->nsplit = 1;
    if (c->one) {  /* key ranges of at least 64 keys, at most 2 per thread */
        int ctx = kend[0];
        c->nsplit = ctx / 64 < 2 * nt ? ctx / 64 : 2 * nt;
        if (c->nsplit < 1) c->nsplit = 1;
    }
    c->ntiles = (T + TILE_ROWS - 1) / TILE_ROWS;
    c->ntt = (T + TT - 1) / TT;
    c->qbuf = malloc(sizeof(float) * (size_t)T * c->qn);
    c->hbuf = malloc(sizeof(float) * (size_t)T * H);
    c->gbuf = malloc(sizeof(float) * (size_t)T * H);
    if (c->one) c->part = malloc(sizeof(float) * (size_t)nh * c->nsplit * (hd + 2));
    else {
        c->att = malloc(sizeof(float) * (size_t)T * c->qn);
        c->xqs = malloc(xq_bytes(c->kmax) * (size_t)T);
    }
    const int rc = c->one ? 32 : 64, nrow = (T + ROWS_PER_ITEM - 1) / ROWS_PER_ITEM;
    const int natt = c->one ? nkv * c->nsplit : nkv * c->ntiles;
    int *counts = malloc(sizeof(int) * MAXPH), np = 0;
    for (int l = 0; l < n_layers && np + 10 <= MAXPH; l++) {
        const int kinds[9] = { PH_NORM1, PH_QKV, PH_ATTN, PH_QATT, PH_WO, PH_NORM2, PH_GATEUP, PH_QH, PH_DOWN };
        for (int i = 0; i < 9; i++) {
            const int kind = kinds[i];
            int n;
            if (kind == PH_NORM1 || kind == PH_NORM2 || kind == PH_QATT || kind == PH_QH) {
                if (c->one) continue;  /* decode: every thread does these itself */
                n = nrow;
            } else if (kind == PH_QKV) n = (nh + 2 * nkv) * c->ntt;
            else if (kind == PH_ATTN) n = natt;
            else if (kind == PH_GATEUP) n = n_items(H, rc, T);
            else n = n_items(d, rc, T);
            c->ph_kind[np] = kind; c->ph_layer[np] = l; counts[np++] = n;
        }
    }
    if (out_norm) { c->ph_kind[np] = PH_EXIT; c->ph_layer[np] = 0; counts[np++] = nrow; }
    run_job(mf_fn, c, counts, np, nt);
    free(counts);
    free(c->xqs); free(c->att); free(c->part); free(c->gbuf); free(c->hbuf); free(c->qbuf);
    free(c);
}
"""

FLAGS = ["-O3", "-march=native", "-pthread", "-shared", "-fPIC", "-lm"]
Q4_0, Q8_0 = 2, 8
TYPES = (Q4_0, Q8_0)


class Layer(ctypes.Structure):
    """hrm_layer: packed wq wk wv wo w1 w3 w2 with their GGML types, and the two norms."""

    _fields_ = [("w", ctypes.c_void_p * 7), ("type", ctypes.c_int * 7),
                ("attn_norm", ctypes.c_void_p), ("ffn_norm", ctypes.c_void_p)]


class Dims(ctypes.Structure):
    """hrm_dims: shapes, the KV cache geometry (slot_stride in elements) and its dtype."""

    _fields_ = [(n, ctypes.c_int) for n in ("d", "n_heads", "n_kv", "hd", "hidden", "max_len",
                                             "slot_stride")] + [("eps", ctypes.c_float),
                                                                ("kv_f16", ctypes.c_int)]


class CKernel:
    """Bound entry points of the compiled library."""

    def __init__(self, path: Path):
        self.so = ctypes.CDLL(str(path))
        vp, i, sz = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t
        sigs = {
            "hrm_packed_bytes": ([i, i, i], sz),
            "hrm_pack": ([i, vp, i, i, vp], None),
            "hrm_advise_huge": ([vp, sz], i),
            "hrm_dequant_rows": ([i, vp, i, vp, i, vp], None),
            "hrm_matmul": ([i, vp, i, i, vp, i, vp, i], None),
            "hrm_argmax": ([vp, i], i),
            "hrm_module_forward": ([vp, vp, i, vp, vp, i, vp, vp, i, i, vp, vp, vp, i], None),
        }
        for name, (args, res) in sigs.items():
            f = getattr(self.so, name)
            f.argtypes, f.restype = args, res
        self.packed_bytes = self.so.hrm_packed_bytes
        self.pack = self.so.hrm_pack
        self.advise_huge = self.so.hrm_advise_huge
        self.dequant_rows = self.so.hrm_dequant_rows
        self.matmul = self.so.hrm_matmul
        self.argmax = self.so.hrm_argmax
        self.module_forward = self.so.hrm_module_forward


class BuildError(Exception):
    """The kernels could not be compiled or loaded. `output` is what the compiler printed
    (shown with HRM_DEBUG=1), kept apart from the one-line message users see."""

    def __init__(self, message: str, output: str = ""):
        super().__init__(message)
        self.output = output


def _debug_enabled() -> bool:
    return os.environ.get("HRM_DEBUG", "") not in ("", "0")


def _debug(message: str) -> None:
    if _debug_enabled():
        print(f"hrm: debug: {message}", file=sys.stderr)


def _warn(message: str) -> None:
    """One line on stderr: the fallback is slower but correct, so it must not be silent,
    and it must not flood a terminal UI either."""
    print(f"hrm: warning: {' '.join(message.split())}", file=sys.stderr)


def _compiler() -> str | None:
    """Absolute path of the C compiler ($CC, then cc, gcc, clang), or None."""
    for cc in (os.environ.get("CC"), "cc", "gcc", "clang"):
        found = shutil.which(cc) if cc else None
        if found:
            return found
    return None


@cache
def compiler_version(cc: str) -> str:
    """`cc --version`: a compiler upgrade changes the code it emits for the same flags."""
    try:
        r = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        return f"unknown ({e})"
    return f"status {r.returncode}\n{r.stdout}{r.stderr}".strip()


@cache
def cpu_flags() -> str:
    """The instruction-set extensions of this CPU. Code built with -march=native may use any
    of them, so a cache on a home directory shared by several machines must never hand one
    machine's build to a CPU that lacks one (that is a SIGILL, not an exception).

    Linux lists them in /proc/cpuinfo (`flags` on x86, `Features` on Arm, `isa` on RISC-V);
    elsewhere the predefined macros of `cc -march=native` say what the compiler would use."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip() in ("flags", "Features", "isa"):
            return f"{platform.machine()}: " + " ".join(sorted(set(value.split())))
    cc = _compiler()
    if cc:
        try:
            r = subprocess.run([cc, "-march=native", "-dM", "-E", "-x", "c", os.devnull],
                               capture_output=True, text=True, timeout=60)
            if r.returncode == 0:
                return f"{platform.machine()}: " + " ".join(sorted(r.stdout.split("\n")))
        except (OSError, subprocess.SubprocessError):
            pass
    return f"{platform.machine()}: {platform.processor()}"


def cache_key(flags: Sequence[str], cc: str, cc_version: str, cpu: str) -> str:
    """Name of one build in the cache: everything that changes the machine code (the source,
    the flags, the compiler and its version) and the CPU it may run on."""
    h = hashlib.sha256()
    for part in (SOURCE, "\0".join(flags), cc, cc_version, cpu):
        h.update(part.encode())
        h.update(b"\0\x01")
    return h.hexdigest()[:20]


def _compile(cc: str, workdir: Path, flags: Sequence[str]) -> Path:
    """Compile SOURCE in workdir; the library's path, or BuildError with the compiler output."""
    src, so = workdir / "hrmq.c", workdir / "hrmq.so"
    src.write_text(SOURCE)
    cmd = [cc, str(src), "-o", str(so), *flags]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        _debug(f"{' '.join(cmd)} ran over 600 s and was stopped")
        raise BuildError(f"{cc} took over 600 s to compile the C kernels") from None
    except OSError as e:
        raise BuildError(f"could not run the C compiler {cc}: {e.strerror or e}") from None
    output = (r.stdout + r.stderr).strip()
    _debug(f"{' '.join(cmd)} exited with status {r.returncode}" + (f"\n{output}" if output else ""))
    if r.returncode != 0:
        last = output.splitlines()[-1] if output else "no output"
        raise BuildError(f"{cc} failed to compile the C kernels (status {r.returncode}: {last})",
                         output)
    if not so.is_file():
        raise BuildError(f"{cc} reported success but wrote no library", output)
    return so


def build(cache_dir: Path, flags: Sequence[str] = FLAGS) -> Path | None:
    """The compiled library in cache_dir, compiling it when this machine has no build yet.

    None when there is no C compiler; BuildError when the compiler fails; OSError when the
    cache directory cannot be created or written (the caller then builds elsewhere)."""
    cc = _compiler()
    if cc is None:
        return None
    out = cache_dir / f"hrmq-{cache_key(flags, cc, compiler_version(cc), cpu_flags())}.so"
    if out.is_file():
        return out
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".build-") as tmp:
        so = _compile(cc, Path(tmp), flags)
        os.replace(so, out)  # atomic: concurrent first uses never load a half-written file
    return out


def _load(path: Path) -> CKernel:
    try:
        return CKernel(path)
    except (OSError, AttributeError) as e:  # not a library, another build, wrong machine type
        raise BuildError(f"cannot load the C kernels: {e}") from None


def _build_private(flags: Sequence[str], why: str) -> CKernel:
    """Compile into a fresh private temporary directory and load from there. The directory
    is removed at once: the loaded library stays mapped, and nothing is left in /tmp that
    another user could replace."""
    cc = _compiler()
    if cc is None:
        raise BuildError("no C compiler")
    try:
        with tempfile.TemporaryDirectory(prefix="hrm-kernels-") as tmp:
            kernel = _load(_compile(cc, Path(tmp), flags))
    except OSError as e:
        raise BuildError(f"{why}, and no temporary directory is writable either: {e}") from None
    _warn(f"{why}; compiled the C kernels in a temporary directory instead "
          "(this repeats on every run until the cache is writable)")
    return kernel


def load_kernels(cache_dir: Path, flags: Sequence[str] = FLAGS) -> CKernel | None:
    """Build (or reuse) and load the kernels: None when there is no C compiler.

    An unwritable cache builds in a temporary directory instead; a cached file that does not
    load (truncated by a full disk, damaged) is rebuilt once. What still fails is a
    BuildError for the caller to turn into a fallback."""
    try:
        path = build(cache_dir, flags)
    except OSError as e:
        return _build_private(flags, f"cannot write the kernel cache {cache_dir} "
                                     f"({e.strerror or e})")
    if path is None:
        return None
    try:
        return _load(path)
    except BuildError as e:
        _debug(f"{e}; rebuilding it")
    try:
        path.unlink()
        rebuilt = build(cache_dir, flags)
    except OSError as e:
        return _build_private(flags, f"cannot replace the damaged {path} ({e.strerror or e})")
    if rebuilt is None:
        raise BuildError("the C compiler disappeared while rebuilding the kernels")
    return _load(rebuilt)


@cache
def lib() -> CKernel | None:
    """The compiled kernels, or None: no compiler, another kernel forced by HRM_KERNEL, or a
    build or load failure (reported in one warning line; HRM_DEBUG=1 shows the compiler's
    output). None makes the runtime use its other kernels, which give the same results."""
    forced = os.environ.get("HRM_KERNEL")
    if forced in ("torch", "ggml"):
        return None
    from hrmcli.config import paths

    try:
        kernel = load_kernels(paths().cache_dir / "kernels")
    except BuildError as e:
        if forced == "c":
            raise RuntimeError(f"HRM_KERNEL=c but the C kernels are unavailable: {e}") from None
        # With HRM_DEBUG=1 the compiler's output was already printed as it ran.
        _warn(f"{e}; using the slower built-in kernels instead"
              + ("" if _debug_enabled() else " (HRM_DEBUG=1 shows the compiler output)"))
        return None
    if kernel is None and forced == "c":
        raise RuntimeError("HRM_KERNEL=c but no working C compiler (cc/gcc/clang) found")
    return kernel
