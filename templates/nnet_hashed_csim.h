// hashhls: the C-simulation-only fast path of the hashed kernels in nnet_hashed.h (never synthesised:
// nnet_hashed.h includes this file only when __SYNTHESIS__ and HASHHLS_CSIM_APFIXED are undefined).
//
// The synthesis path computes every weight's bucket and sign on chip, once per multiply. Simulating that
// per sample costs one hash per virtual weight per image. Here, each (o, i)'s bucket and sign are computed
// ONCE per process (one `hashhls csim` batch call) with the very address functions the kernels use
// (hashhls_address<CONFIG_T, version>), into a table of signed virtual weight codes held on the heap; every
// sample is then an exact integer sum over that table, skipping zero inputs. The table is rebuilt whenever
// the K bucket weights change. Bit-identical to the synthesis path: both accumulate exactly and round once
// into res_T (hw_tests/test_hashed_kernel.py compiles both paths and compares them with the spec).
#ifndef NNET_HASHED_CSIM_H_
#define NNET_HASHED_CSIM_H_

#include <algorithm>
#include <cstring>
#include <vector>

namespace nnet {
namespace hashhls_csim {

template <unsigned N> struct bits { static const int value = 1 + bits<N / 2>::value; };
template <> struct bits<0> { static const int value = 0; };

template <class T> struct is_signed { static const bool value = true; };
template <int W, int I, ap_q_mode Q, ap_o_mode O, int N> struct is_signed<ap_ufixed<W, I, Q, O, N> > {
    static const bool value = false;
};

// Raw code of a fixed-point value, value = code * 2^-(width - iwidth): the simulation model's storage (the
// ap_private V of ap_types' C++ model, sign-extended), read directly.
template <class T> inline int64_t code(const T &x) { return (int64_t)x.V.to_int64(); }

// Exact accumulation in native integers: when it fits int64 (ok) and, faster, when it fits a double's 53-bit
// significand (f64: every partial sum is an integer below 2^53, so double arithmetic is exact too).
template <class data_T, class weight_T, class bias_T, unsigned fan_in> struct int_path {
    static const int fd = data_T::width - data_T::iwidth;
    static const int fw = weight_T::width - weight_T::iwidth;
    static const int fb = bias_T::width - bias_T::iwidth;
    static const int frac = (fd + fw > fb) ? fd + fw : fb;
    static const int sum_bits = data_T::width + weight_T::width + bits<fan_in>::value;  // |sum| < 2^(sum_bits-1)
    static const bool ok = sum_bits + (frac - fd - fw) < 62 && bias_T::width + (frac - fb) < 61 && frac < 62;
    static const bool f64 = sum_bits < 53;
};

// Exact accumulator codes (frac fraction bits) -> res_T: the one rounding/saturation, in res_T's modes,
// by ap_types' own conversion (the reference; any type and mode).
template <class res_T, int frac> inline res_T from_codes_ap(int64_t acc) {
    ap_fixed<64, 64 - frac> exact;
    exact.range(63, 0) = (uint64_t)acc;
    return (res_T)exact;
}

// The same conversion in native integers, for ap_fixed / ap_ufixed with any quantisation mode and AP_WRAP,
// AP_SAT or AP_SAT_ZERO overflow (ap_types' quantization_adjust / overflow_adjust, transcribed);
// other modes use from_codes_ap. hw_tests/test_csim_convert.py checks it against ap_types for every mode.
template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O, int N, int frac> struct native_convert {
    static const bool ok = N == 0 && (O == AP_WRAP || O == AP_SAT || O == AP_SAT_ZERO) && W < 63 && frac < 62 &&
                           frac - (W - I) < 62 && (W - I) - frac < 62;
    static int64_t run(int64_t acc) {
        const int shift = frac - (W - I);  // fraction bits dropped (> 0) or appended (< 0)
        int64_t q;
        if (shift > 0) {
            q = acc >> shift;  // floor
            const int64_t rem = acc - q * ((int64_t)1 << shift);  // in [0, 2^shift)
            const int64_t half = (int64_t)1 << (shift - 1);
            const bool qb = rem >= half;                  // the first dropped bit
            const bool lower = (rem & (half - 1)) != 0;   // any dropped bit below it
            const bool s = acc < 0;
            bool inc = false;
            switch (Q) {
            case AP_RND: inc = qb; break;
            case AP_RND_ZERO: inc = qb && (s || lower); break;
            case AP_RND_MIN_INF: inc = qb && lower; break;
            case AP_RND_INF: inc = qb && (!s || lower); break;
            case AP_RND_CONV: inc = qb && ((q & 1) || lower); break;
            case AP_TRN: inc = false; break;
            case AP_TRN_ZERO: inc = s && rem != 0; break;
            }
            q += inc;
        } else {
            q = acc * ((int64_t)1 << -shift);
        }
        const int64_t lo = S ? -((int64_t)1 << (W - 1)) : 0;
        const int64_t hi = S ? ((int64_t)1 << (W - 1)) - 1 : ((int64_t)1 << W) - 1;
        if (q >= lo && q <= hi) return q;
        if (O == AP_SAT) return q < lo ? lo : hi;
        if (O == AP_SAT_ZERO) return 0;
        const uint64_t m = (((uint64_t)1) << W) - 1;  // AP_WRAP: keep the low W bits, two's complement
        const uint64_t u = (uint64_t)q & m;
        return (S && (u >> (W - 1))) ? (int64_t)(u | ~m) : (int64_t)u;
    }
};

template <class res_T, int frac> struct converter {
    static res_T run(int64_t acc) { return from_codes_ap<res_T, frac>(acc); }
};
template <int W, int I, ap_q_mode Q, ap_o_mode O, int N, int frac> struct converter<ap_fixed<W, I, Q, O, N>, frac> {
    typedef native_convert<W, I, true, Q, O, N, frac> C;
    static ap_fixed<W, I, Q, O, N> run(int64_t acc) {
        if (!C::ok) return from_codes_ap<ap_fixed<W, I, Q, O, N>, frac>(acc);
        ap_fixed<W, I, Q, O, N> r;
        r.V = (ap_slong)C::run(acc);
        return r;
    }
};
template <int W, int I, ap_q_mode Q, ap_o_mode O, int N, int frac> struct converter<ap_ufixed<W, I, Q, O, N>, frac> {
    typedef native_convert<W, I, false, Q, O, N, frac> C;
    static ap_ufixed<W, I, Q, O, N> run(int64_t acc) {
        if (!C::ok) return from_codes_ap<ap_ufixed<W, I, Q, O, N>, frac>(acc);
        ap_ufixed<W, I, Q, O, N> r;
        r.V = (ap_slong)C::run(acc);
        return r;
    }
};

template <class res_T, int frac> inline res_T from_codes(int64_t acc) { return converter<res_T, frac>::run(acc); }

// Signed virtual weight codes of one layer, input-major: t[i * rows + o] = sign(o, i) * code(W[bucket(o, i)]),
// i < fan_in the input (or tap) and o < rows the output (or filter). Flat index f = o * fan_in + i; the lane
// of input i is i mod n_banks (hashhls_banked_input). Built on first use and whenever the weights change.
template <typename CONFIG_T, unsigned version, unsigned rows, unsigned fan_in, typename V> class signed_table {
  public:
    const V *get(const typename CONFIG_T::weight_t *weights) {
        const size_t nbytes = sizeof(typename CONFIG_T::weight_t) * CONFIG_T::n_buckets;
        const unsigned char *raw = reinterpret_cast<const unsigned char *>(weights);
        if (key_.size() == nbytes && std::memcmp(&key_[0], raw, nbytes) == 0) return &table_[0];
        key_.assign(raw, raw + nbytes);
        std::vector<int64_t> w(CONFIG_T::n_buckets);
        for (unsigned k = 0; k < CONFIG_T::n_buckets; k++) w[k] = code(weights[k]);
        table_.assign((size_t)rows * fan_in, V(0));
        for (unsigned o = 0; o < rows; o++) {
            for (unsigned i = 0; i < fan_in; i++) {
                uint32_t bucket;
                bool negative;
                hashhls_address<CONFIG_T, version>::run((uint32_t)(o * fan_in + i), i % CONFIG_T::n_banks, bucket,
                                                       negative);
                table_[(size_t)i * rows + o] = (V)(negative ? -w[bucket] : w[bucket]);
            }
        }
        return &table_[0];
    }

  private:
    std::vector<unsigned char> key_;
    std::vector<V> table_;
};

template <class res_T, class bias_T, typename P, typename V>
inline void finish(const std::vector<V> &acc, const bias_T *biases, unsigned rows, unsigned pixels, res_T *res) {
    const int64_t scale = (int64_t)1 << (P::frac - P::fd - P::fw);
    for (unsigned p = 0; p < pixels; p++) {
        for (unsigned o = 0; o < rows; o++) {
            const int64_t b = code(biases[o]) * ((int64_t)1 << (P::frac - P::fb));
            res[p * rows + o] = from_codes<res_T, P::frac>(b + (int64_t)acc[(size_t)p * rows + o] * scale);
        }
    }
}

template <class data_T, class res_T, typename CONFIG_T, unsigned version, typename V, typename P>
inline void dense_run(data_T *data, res_T *res, typename CONFIG_T::weight_t *weights,
                      typename CONFIG_T::bias_t *biases) {
    static const unsigned N = CONFIG_T::n_in, M = CONFIG_T::n_out;
    static signed_table<CONFIG_T, version, M, N, V> table;
    static std::vector<V> acc(M);
    const V *t = table.get(weights);
    std::fill(acc.begin(), acc.end(), V(0));
    for (unsigned i = 0; i < N; i++) {
        const int64_t x = code(data[i]);
        if (x == 0) continue;  // ReLU outputs and background pixels: a third to four fifths of the inputs
        const V xv = (V)x;
        const V *col = t + (size_t)i * M;
        for (unsigned o = 0; o < M; o++) acc[o] += xv * col[o];
    }
    finish<res_T, typename CONFIG_T::bias_t, P>(acc, biases, M, 1, res);
}

// Y = bias + sum over the inputs of sign * w * x, exactly; false if the sums do not fit int64 (then the
// caller runs the synthesis path, which is exact in ap_fixed).
template <class data_T, class res_T, typename CONFIG_T, unsigned version>
bool dense(data_T *data, res_T *res, typename CONFIG_T::weight_t *weights, typename CONFIG_T::bias_t *biases) {
    typedef int_path<data_T, typename CONFIG_T::weight_t, typename CONFIG_T::bias_t, CONFIG_T::n_in> P;
    if (!P::ok) return false;
    if (P::f64) {
        dense_run<data_T, res_T, CONFIG_T, version, double, P>(data, res, weights, biases);
    } else {
        dense_run<data_T, res_T, CONFIG_T, version, int64_t, P>(data, res, weights, biases);
    }
    return true;
}

// The convolution as a scatter: each non-zero input pixel value adds x * kernel[tap][f] to the outputs
// it reaches (channels-last maps, taps in the zero padding skipped), the same exact sum as the kernel's.
template <class data_T, class res_T, typename CONFIG_T, unsigned version, typename V, typename P>
inline void conv2d_run(data_T *data, res_T *res, typename CONFIG_T::weight_t *weights,
                       typename CONFIG_T::bias_t *biases) {
    static const unsigned KH = CONFIG_T::filt_height, KW = CONFIG_T::filt_width, C = CONFIG_T::n_chan;
    static const unsigned F = CONFIG_T::n_filt, OH = CONFIG_T::out_height, OW = CONFIG_T::out_width;
    static const unsigned fan_in = C * KH * KW;
    static signed_table<CONFIG_T, version, F, fan_in, V> table;
    static std::vector<V> acc((size_t)OH * OW * F);
    const V *t = table.get(weights);
    std::fill(acc.begin(), acc.end(), V(0));
    for (unsigned iy = 0; iy < CONFIG_T::in_height; iy++) {
        for (unsigned ix = 0; ix < CONFIG_T::in_width; ix++) {
            for (unsigned c = 0; c < C; c++) {
                const int64_t x = code(data[(iy * CONFIG_T::in_width + ix) * C + c]);
                if (x == 0) continue;
                const V xv = (V)x;
                for (unsigned ky = 0; ky < KH; ky++) {
                    const int ny = (int)(iy + CONFIG_T::pad_top) - (int)ky;  // = oy * stride_height
                    if (ny < 0 || ny % (int)CONFIG_T::stride_height) continue;
                    const unsigned oy = (unsigned)ny / CONFIG_T::stride_height;
                    if (oy >= OH) continue;
                    for (unsigned kx = 0; kx < KW; kx++) {
                        const int nx = (int)(ix + CONFIG_T::pad_left) - (int)kx;
                        if (nx < 0 || nx % (int)CONFIG_T::stride_width) continue;
                        const unsigned ox = (unsigned)nx / CONFIG_T::stride_width;
                        if (ox >= OW) continue;
                        const V *w = t + (size_t)((c * KH + ky) * KW + kx) * F;
                        V *a = &acc[((size_t)oy * OW + ox) * F];
                        for (unsigned f = 0; f < F; f++) a[f] += xv * w[f];
                    }
                }
            }
        }
    }
    finish<res_T, typename CONFIG_T::bias_t, P>(acc, biases, F, OH * OW, res);
}

template <class data_T, class res_T, typename CONFIG_T, unsigned version>
bool conv2d(data_T *data, res_T *res, typename CONFIG_T::weight_t *weights, typename CONFIG_T::bias_t *biases) {
    static const unsigned fan_in = CONFIG_T::n_chan * CONFIG_T::filt_height * CONFIG_T::filt_width;
    typedef int_path<data_T, typename CONFIG_T::weight_t, typename CONFIG_T::bias_t, fan_in> P;
    if (!P::ok) return false;
    if (P::f64) {
        conv2d_run<data_T, res_T, CONFIG_T, version, double, P>(data, res, weights, biases);
    } else {
        conv2d_run<data_T, res_T, CONFIG_T, version, int64_t, P>(data, res, weights, biases);
    }
    return true;
}

} // namespace hashhls_csim
} // namespace nnet

#endif
