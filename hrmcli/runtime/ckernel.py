"""Our own C kernels for 4-bit decode: Q4_0/Q8_0 matrix-vector products and a fused
single-token pass through one HRM module call (every layer, then the exit norm).

Why C: a decoded token of the tiny preset is about 85 small matmuls plus ~30 torch ops per
layer; at a few microseconds of Python/torch dispatch each, overhead (and ggml's per-graph
thread start-up) dwarfs the arithmetic. One C call per module call removes both. HRM re-reads
the same layers every cycle, so their 4-bit weights stay in cache across calls.

Numerics follow ggml's CPU path: activations are quantised to Q8_0 per row (d = amax / 127,
round half away from zero), dot products are integer per 32-block and scaled by both fp16
block scales. The block math is model.py's (pre-norm attention with NEOX RoPE and GQA, SwiGLU,
RMSNorm); tests check the fused pass against the torch path on the same quantised weights.

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
#if defined(__AVX2__)
#include <immintrin.h>
#endif

enum { T_Q4_0 = 2, T_Q8_0 = 8 };
typedef struct { uint16_t d; uint8_t qs[16]; } bq4;
typedef struct { uint16_t d; int8_t qs[32]; } bq8;

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
    if (e <= 0) return (uint16_t)s;  /* activation scales are never subnormal in practice */
    if (e >= 31) return (uint16_t)(s | 0x7c00);
    uint32_t r = m + 0xfff + ((m >> 13) & 1);
    if (r & 0x800000) { r = 0; e++; if (e >= 31) return (uint16_t)(s | 0x7c00); }
    return (uint16_t)(s | ((uint32_t)e << 10) | (r >> 13));
#endif
}

void hrm_quantize_q8_0(const float *x, int k, bq8 *out) {
    for (int b = 0; b < k / 32; b++) {
        const float *v = x + 32 * b;
        float amax = 0.f;
        for (int j = 0; j < 32; j++) { float a = fabsf(v[j]); if (a > amax) amax = a; }
        float d = amax / 127.f, id = d ? 1.f / d : 0.f;
        out[b].d = f2h(d);
        for (int j = 0; j < 32; j++) out[b].qs[j] = (int8_t)roundf(v[j] * id);
    }
}

#if defined(__AVX2__)
static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
/* signed bytes a * signed bytes b summed in groups of four, as 8 int32 -> float */
static inline __m256 dot32(__m256i a, __m256i b) {
    __m256i ax = _mm256_sign_epi8(a, a), sb = _mm256_sign_epi8(b, a);
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
    return _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(_mm256_setzero_si256(), ax, sb));
#else
    __m256i p = _mm256_maddubs_epi16(ax, sb);
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(p, _mm256_set1_epi16(1)));
#endif
}
#endif

static float dot_q4(const bq4 *w, const bq8 *x, int nb) {
#if defined(__AVX2__)
    __m256 acc = _mm256_setzero_ps();
    const __m256i lo = _mm256_set1_epi8(0x0f), eight = _mm256_set1_epi8(8);
    for (int b = 0; b < nb; b++) {
        __m128i t = _mm_loadu_si128((const __m128i *)w[b].qs);
        __m256i q = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t, 4), t), lo);
        q = _mm256_sub_epi8(q, eight);
        __m256i y = _mm256_loadu_si256((const __m256i *)x[b].qs);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[b].d) * h2f(x[b].d)), dot32(q, y), acc);
    }
    return hsum8(acc);
#else
    float s = 0.f;
    for (int b = 0; b < nb; b++) {
        int sum = 0;
        for (int j = 0; j < 16; j++) {
            sum += ((w[b].qs[j] & 0x0f) - 8) * x[b].qs[j];
            sum += ((w[b].qs[j] >> 4) - 8) * x[b].qs[j + 16];
        }
        s += (float)sum * h2f(w[b].d) * h2f(x[b].d);
    }
    return s;
#endif
}

static float dot_q8(const bq8 *w, const bq8 *x, int nb) {
#if defined(__AVX2__)
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        __m256i q = _mm256_loadu_si256((const __m256i *)w[b].qs);
        __m256i y = _mm256_loadu_si256((const __m256i *)x[b].qs);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[b].d) * h2f(x[b].d)), dot32(q, y), acc);
    }
    return hsum8(acc);
#else
    float s = 0.f;
    for (int b = 0; b < nb; b++) {
        int sum = 0;
        for (int j = 0; j < 32; j++) sum += w[b].qs[j] * x[b].qs[j];
        s += (float)sum * h2f(w[b].d) * h2f(x[b].d);
    }
    return s;
#endif
}

/* Multiply-adds below which a product runs on one thread: a fork/join costs about as much
   as 64k Q4_0 multiply-adds on an idle core, far more on a shared one. */
#define PAR_MIN 262144

static size_t row_bytes(int t, int k) { return (size_t)(k / 32) * (t == T_Q4_0 ? 18 : 34); }

/* y (m, n) = x (m, k) @ W.T, x given as m rows of Q8_0 blocks; parallel over weight rows so
   each row is read once for all m. */
static void matq(int t, const void *w, int n, int k, const bq8 *xq, int m, float *y, int nt) {
    const int nb = k / 32; const size_t rb = row_bytes(t, k);
    #pragma omp parallel for num_threads(nt) if(nt > 1 && (size_t)n * k * m >= PAR_MIN) schedule(static)
    for (int i = 0; i < n; i++) {
        const void *row = (const char *)w + rb * i;
        for (int r = 0; r < m; r++)
            y[(size_t)r * n + i] = t == T_Q4_0 ? dot_q4(row, xq + (size_t)r * nb, nb)
                                               : dot_q8(row, xq + (size_t)r * nb, nb);
    }
}

/* Several products of the same activation (q/k/v, gate/up) in one parallel loop: one
   fork/join instead of three, which matters when the cores are shared. */
static void matq_many(int cnt, const int *t, const void *const *w, const int *n, int k,
                      const bq8 *xq, float *const *y, int nt) {
    const int nb = k / 32; int total = 0;
    for (int c = 0; c < cnt; c++) total += n[c];
    #pragma omp parallel for num_threads(nt) if(nt > 1 && (size_t)total * k >= PAR_MIN) schedule(static)
    for (int i = 0; i < total; i++) {
        int c = 0, r = i;
        while (r >= n[c]) r -= n[c++];
        const void *row = (const char *)w[c] + row_bytes(t[c], k) * r;
        y[c][r] = t[c] == T_Q4_0 ? dot_q4(row, xq, nb) : dot_q8(row, xq, nb);
    }
}

void hrm_matmul(int t, const void *w, int n, int k, const float *x, int m, float *y, int nt) {
    bq8 *xq = malloc(sizeof(bq8) * (size_t)m * (k / 32));
    for (int r = 0; r < m; r++) hrm_quantize_q8_0(x + (size_t)r * k, k, xq + (size_t)r * (k / 32));
    matq(t, w, n, k, xq, m, y, nt);
    free(xq);
}

typedef struct {
    const void *w[7];  /* wq wk wv wo w1 w3 w2 */
    int type[7];
    const float *attn_norm, *ffn_norm;
} hrm_layer;

typedef struct {
    int d, n_heads, n_kv, hd, hidden, max_len, slot_stride;  /* slot_stride in floats */
    float eps;
} hrm_dims;

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

/* One module call for one token at position pos: every layer (attention over cache slots
   slot0.., then SwiGLU), then the exit RMSNorm, in place on x (d floats). */
void hrm_module_decode(const hrm_dims *D, const hrm_layer *L, int n_layers,
                       const float *out_norm, float *x, float *kc, float *vc, int slot0,
                       int pos, const float *cosr, const float *sinr, int nt) {
    const int d = D->d, hd = D->hd, nh = D->n_heads, nkv = D->n_kv, H = D->hidden;
    const int qn = nh * hd, kvn = nkv * hd, rep = nh / nkv;
    const int kmax = d > H ? d : H;
    float *h = malloc(sizeof(float) * (size_t)(d + qn + 2 * kvn + qn + 2 * H + nh * (pos + 1)));
    float *q = h + d, *k = q + qn, *v = k + kvn, *att = v + kvn, *g = att + qn, *u = g + H;
    float *sc = u + H;
    bq8 *xq = malloc(sizeof(bq8) * (size_t)(kmax / 32));
    const float scale = 1.f / sqrtf((float)hd);
    for (int l = 0; l < n_layers; l++) {
        const hrm_layer *P = L + l;
        float *K = kc + (size_t)(slot0 + l) * D->slot_stride;
        float *V = vc + (size_t)(slot0 + l) * D->slot_stride;
        rmsnorm(x, P->attn_norm, d, D->eps, h);
        hrm_quantize_q8_0(h, d, xq);
        { int n3[3] = {qn, kvn, kvn}; float *y3[3] = {q, k, v};
          matq_many(3, P->type, P->w, n3, d, xq, y3, nt); }
        for (int i = 0; i < nh; i++) rope(q + i * hd, hd, cosr, sinr);
        for (int i = 0; i < nkv; i++) {
            rope(k + i * hd, hd, cosr, sinr);
            memcpy(K + ((size_t)i * D->max_len + pos) * hd, k + i * hd, sizeof(float) * hd);
            memcpy(V + ((size_t)i * D->max_len + pos) * hd, v + i * hd, sizeof(float) * hd);
        }
        #pragma omp parallel for num_threads(nt) if(nt > 1 && pos >= 256) schedule(static)
        for (int i = 0; i < nh; i++) {
            const float *Kh = K + (size_t)(i / rep) * D->max_len * hd;
            const float *Vh = V + (size_t)(i / rep) * D->max_len * hd;
            const float *qi = q + i * hd;
            float *s = sc + (size_t)i * (pos + 1), mx = -INFINITY, sum = 0.f;
            for (int p = 0; p <= pos; p++) {
                const float *kp = Kh + (size_t)p * hd; float a = 0.f;
                for (int j = 0; j < hd; j++) a += qi[j] * kp[j];
                s[p] = a * scale; if (s[p] > mx) mx = s[p];
            }
            for (int p = 0; p <= pos; p++) { s[p] = expf(s[p] - mx); sum += s[p]; }
            float *o = att + i * hd;
            for (int j = 0; j < hd; j++) o[j] = 0.f;
            for (int p = 0; p <= pos; p++) {
                const float *vp = Vh + (size_t)p * hd; float w = s[p] / sum;
                for (int j = 0; j < hd; j++) o[j] += w * vp[j];
            }
        }
        hrm_quantize_q8_0(att, qn, xq);
        matq(P->type[3], P->w[3], d, qn, xq, 1, h, nt);
        for (int i = 0; i < d; i++) x[i] += h[i];
        rmsnorm(x, P->ffn_norm, d, D->eps, h);
        hrm_quantize_q8_0(h, d, xq);
        { int n2[2] = {H, H}; float *y2[2] = {g, u};
          matq_many(2, P->type + 4, P->w + 4, n2, d, xq, y2, nt); }
        for (int i = 0; i < H; i++) g[i] = g[i] / (1.f + expf(-g[i])) * u[i];
        hrm_quantize_q8_0(g, H, xq);
        matq(P->type[6], P->w[6], d, H, xq, 1, h, nt);
        for (int i = 0; i < d; i++) x[i] += h[i];
    }
    if (out_norm) {  /* retrofitted modules have no exit norm */
        rmsnorm(x, out_norm, d, D->eps, h);
        memcpy(x, h, sizeof(float) * d);
    }
    free(xq);
    free(h);
}
"""

FLAGS = ["-O3", "-march=native", "-fopenmp", "-shared", "-fPIC", "-lm"]
Q4_0, Q8_0 = 2, 8
TYPES = (Q4_0, Q8_0)


class Layer(ctypes.Structure):
    _fields_ = [("w", ctypes.c_void_p * 7), ("type", ctypes.c_int * 7),
                ("attn_norm", ctypes.c_void_p), ("ffn_norm", ctypes.c_void_p)]


class Dims(ctypes.Structure):
    _fields_ = [(n, ctypes.c_int) for n in ("d", "n_heads", "n_kv", "hd", "hidden", "max_len",
                                             "slot_stride")] + [("eps", ctypes.c_float)]


class CKernel:
    """Bound entry points of the compiled library."""

    def __init__(self, path: Path):
        self.so = ctypes.CDLL(str(path))
        vp, i = ctypes.c_void_p, ctypes.c_int
        self.matmul = self.so.hrm_matmul
        self.matmul.argtypes, self.matmul.restype = [i, vp, i, i, vp, i, vp, i], None
        self.module_decode = self.so.hrm_module_decode
        self.module_decode.argtypes = [vp, vp, i, vp, vp, vp, vp, i, i, vp, vp, i]
        self.module_decode.restype = None


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
