// hashhls: dense layer with hashed weights, computing each weight's address on chip.
//
// The hash is docs/hash-spec.md, version 1 (HashedNets, Chen et al. 2015, with a
// murmur3 fmix32 mix and multiply-high range reduction). Only the K bucket weights
// are stored; no table of N*M weights, buckets or signs exists anywhere.
//
// Arithmetic (docs/design.md "Fixed point"): acc = bias + sum_i sign * w[bucket] * x_i
// in an accumulator type wide enough to be exact, then one conversion to res_T
// (its rounding and saturation).
#ifndef NNET_HASHED_H_
#define NNET_HASHED_H_

#include <stdint.h>

#include "ap_fixed.h"
#include "hls_stream.h"

#include "nnet_common.h"
#include "nnet_types.h"

namespace nnet {

static const uint32_t hashhls_hash_version = 1;
static const uint32_t hashhls_seed_salt = 0x9E3779B9u;

// murmur3's 32-bit finaliser: 3 XOR-shifts (wiring + XOR) and 2 constant multiplies.
inline uint32_t hashhls_fmix32(uint32_t h) {
    #pragma HLS INLINE
    h ^= h >> 16;
    h = (uint32_t)(h * 0x85EBCA6Bu);
    h ^= h >> 13;
    h = (uint32_t)(h * 0xC2B2AE35u);
    h ^= h >> 16;
    return h;
}

// Per-layer key; the code generator folds it into a constant (config::hash_key).
inline uint32_t hashhls_layer_key(uint32_t seed) { return hashhls_fmix32(seed ^ hashhls_seed_salt); }

// Bucket in [0, n_buckets) and sign of flat virtual index f: one XOR with the key,
// fmix32, and a 31x32-bit constant multiply (high half) by K. No divider, no table.
inline void hashhls_bucket_sign(uint32_t f, uint32_t key, uint32_t n_buckets, uint32_t &bucket, bool &negative) {
    #pragma HLS INLINE
    const uint32_t h = hashhls_fmix32(f ^ key);
    bucket = (uint32_t)((((uint64_t)(h >> 1)) * (uint64_t)n_buckets) >> 31);
    negative = (h & 1u) != 0;
}

struct hashed_dense_config {
    // Layer sizes
    static const unsigned n_in = 10;
    static const unsigned n_out = 10;
    static const unsigned n_buckets = 10;
    // Hash
    static const unsigned seed = 0;
    static const unsigned hash_key = 0;
    // Resource / implementation
    static const unsigned io_type = io_parallel;
    static const unsigned reuse_factor = 1;
    typedef float accum_t;
    typedef float weight_t;
    typedef float bias_t;
};

// Y[o] = B[o] + sum_i sign(o*n_in+i) * W[bucket(o*n_in+i)] * X[i]
//
// Each output's n_in products are split into n_lanes = ceil(n_in / reuse_factor)
// parallel lanes; lane l handles inputs l*R .. l*R+R-1 over R pipelined cycles,
// so the layer takes about n_out * R cycles and instantiates n_lanes multipliers
// and n_lanes address units (each: 3 constant multipliers, see hash-spec.md).
template <class T> struct hashhls_is_signed { static const bool value = true; };
template <int W, int I, ap_q_mode Q, ap_o_mode O, int N> struct hashhls_is_signed<ap_ufixed<W, I, Q, O, N> > {
    static const bool value = false;
};

// Raw code of a fixed-point value: value = code * 2^-(width - iwidth).
template <class T> inline int64_t hashhls_code(const T &x) {
    const int64_t bits = (int64_t)x.range(T::width - 1, 0).to_uint64();
    return (hashhls_is_signed<T>::value && T::width < 64 && ((bits >> (T::width - 1)) & 1))
               ? bits - ((int64_t)1 << T::width) : bits;
}

#if !defined(__SYNTHESIS__) && !defined(HASHHLS_CSIM_APFIXED)
// C simulation only: the same exact sum in native 64-bit integers instead of
// arbitrary-precision ap_fixed objects (an order of magnitude faster in csim).
// Bit-identical to the synthesised path because both accumulate exactly and round
// once into res_T; hw_tests/test_hashed_kernel.py compiles both and compares them.
template <unsigned N> struct hashhls_bits { static const int value = 1 + hashhls_bits<N / 2>::value; };
template <> struct hashhls_bits<0> { static const int value = 0; };

template <class data_T, class weight_T, class bias_T, unsigned n_in> struct hashhls_int_path {
    static const int fd = data_T::width - data_T::iwidth;
    static const int fw = weight_T::width - weight_T::iwidth;
    static const int fb = bias_T::width - bias_T::iwidth;
    static const int frac = (fd + fw > fb) ? fd + fw : fb;
    // |sum| <= n_in * 2^(wd-1) * 2^(ww-1) (+ the bias), scaled to `frac`: must fit int64.
    static const bool ok = data_T::width + weight_T::width + (frac - fd - fw) + hashhls_bits<n_in>::value < 62 &&
                           bias_T::width + (frac - fb) < 61 && frac < 62;
};

// Exact accumulator codes (frac fraction bits) -> res_T: the one rounding/saturation, in res_T's modes.
template <class res_T, int frac> inline res_T hashhls_from_codes(int64_t acc) {
    ap_fixed<64, 64 - frac> exact;
    exact.range(63, 0) = (uint64_t)acc;
    return (res_T)exact;
}
#endif

// acc += sign(f) * W[bucket(f)] * x: one on-chip address computation and one exact multiply-accumulate.
template <typename CONFIG_T, class accum_T, class data_T>
inline void hashhls_mac(accum_T &acc, const data_T &x, uint32_t f,
                        const typename CONFIG_T::weight_t weights[CONFIG_T::n_buckets]) {
    #pragma HLS INLINE
    uint32_t bucket;
    bool negative;
    hashhls_bucket_sign(f, (uint32_t)CONFIG_T::hash_key, (uint32_t)CONFIG_T::n_buckets, bucket, negative);
    // The product of two ap_fixed is exact; accum_t is wide enough to hold every partial sum.
    if (negative) {
        acc -= x * weights[bucket];
    } else {
        acc += x * weights[bucket];
    }
}

// Y[o] = B[o] + sum_i sign(o*n_in+i) * W[bucket(o*n_in+i)] * X[i]
//
// Each output's n_in products are split into n_lanes = ceil(n_in / reuse_factor)
// parallel lanes; lane l handles inputs l*R .. l*R+R-1 over R pipelined cycles,
// so the layer takes about n_out * R cycles and instantiates n_lanes multipliers
// and n_lanes address units (each: 3 constant multipliers, see hash-spec.md).
template <class data_T, class res_T, typename CONFIG_T>
void hashed_dense(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_out],
                  typename CONFIG_T::weight_t weights[CONFIG_T::n_buckets],
                  typename CONFIG_T::bias_t biases[CONFIG_T::n_out]) {
    static const unsigned R = CONFIG_T::reuse_factor < 1 ? 1
                              : (CONFIG_T::reuse_factor > CONFIG_T::n_in ? CONFIG_T::n_in : CONFIG_T::reuse_factor);
    static const unsigned n_lanes = (CONFIG_T::n_in + R - 1) / R;

#if !defined(__SYNTHESIS__) && !defined(HASHHLS_CSIM_APFIXED)
    typedef hashhls_int_path<data_T, typename CONFIG_T::weight_t, typename CONFIG_T::bias_t, CONFIG_T::n_in> P;
    if (P::ok) {
        int64_t x[CONFIG_T::n_in];
        for (unsigned i = 0; i < CONFIG_T::n_in; i++) x[i] = hashhls_code(data[i]);
        // The K bucket codes once per call, not once per virtual weight (static: K can exceed a stack frame).
        static int64_t w[CONFIG_T::n_buckets];
        for (unsigned k = 0; k < CONFIG_T::n_buckets; k++) w[k] = hashhls_code(weights[k]);
        for (unsigned o = 0; o < CONFIG_T::n_out; o++) {
            int64_t acc = hashhls_code(biases[o]) << (P::frac - P::fb);
            int64_t sum = 0;
            for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
                uint32_t bucket;
                bool negative;
                hashhls_bucket_sign((uint32_t)(o * CONFIG_T::n_in + i), (uint32_t)CONFIG_T::hash_key,
                                    (uint32_t)CONFIG_T::n_buckets, bucket, negative);
                const int64_t p = x[i] * w[bucket];
                sum += negative ? -p : p;
            }
            acc += sum << (P::frac - P::fd - P::fw);
            res[o] = hashhls_from_codes<res_T, P::frac>(acc);
        }
        return;
    }
#endif

Outputs:
    for (unsigned o = 0; o < CONFIG_T::n_out; o++) {
        typename CONFIG_T::accum_t acc = biases[o];
    Reuse:
        for (unsigned r = 0; r < R; r++) {
            #pragma HLS PIPELINE II=1
        Lanes:
            for (unsigned l = 0; l < n_lanes; l++) {
                #pragma HLS UNROLL
                const unsigned i = l * R + r;
                if (i < CONFIG_T::n_in) {
                    hashhls_mac<CONFIG_T>(acc, data[i], (uint32_t)(o * CONFIG_T::n_in + i), weights);
                }
            }
        }
        res[o] = (res_T)acc; // the one rounding/saturation, in res_T's modes
    }
}

struct hashed_conv2d_config {
    // Geometry (channels-last feature maps, as hls4ml's Conv2D)
    static const unsigned in_height = 10;
    static const unsigned in_width = 10;
    static const unsigned n_chan = 1;
    static const unsigned out_height = 10;
    static const unsigned out_width = 10;
    static const unsigned n_filt = 1;
    static const unsigned filt_height = 3;
    static const unsigned filt_width = 3;
    static const unsigned stride_height = 1;
    static const unsigned stride_width = 1;
    static const unsigned pad_top = 0;
    static const unsigned pad_bottom = 0;
    static const unsigned pad_left = 0;
    static const unsigned pad_right = 0;
    // Hash
    static const unsigned n_buckets = 10;
    static const unsigned seed = 0;
    static const unsigned hash_key = 0;
    // Resource / implementation
    static const unsigned reuse_factor = 1;
    typedef float accum_t;
    typedef float weight_t;
    typedef float bias_t;
};

// Y[oy][ox][f] = B[f] + sum_{c,ky,kx} sign(f_idx) * W[bucket(f_idx)] * X[oy*sh+ky-pt][ox*sw+kx-pl][c]
// with f_idx = ((f*n_chan + c)*filt_height + ky)*filt_width + kx, the torch/ONNX kernel order
// (docs/hash-spec.md); taps that fall in the zero padding contribute nothing.
//
// Per output pixel and filter, the fan_in = n_chan*kh*kw products are split into
// ceil(fan_in / reuse_factor) lanes as in hashed_dense; latency ~ out_h*out_w*n_filt*R cycles.
template <class data_T, class res_T, typename CONFIG_T>
void hashed_conv2d_cl(data_T data[CONFIG_T::in_height * CONFIG_T::in_width * CONFIG_T::n_chan],
                      res_T res[CONFIG_T::out_height * CONFIG_T::out_width * CONFIG_T::n_filt],
                      typename CONFIG_T::weight_t weights[CONFIG_T::n_buckets],
                      typename CONFIG_T::bias_t biases[CONFIG_T::n_filt]) {
    static const unsigned KH = CONFIG_T::filt_height, KW = CONFIG_T::filt_width, C = CONFIG_T::n_chan;
    static const unsigned fan_in = C * KH * KW;
    static const unsigned R = CONFIG_T::reuse_factor < 1 ? 1
                              : (CONFIG_T::reuse_factor > fan_in ? fan_in : CONFIG_T::reuse_factor);
    static const unsigned n_lanes = (fan_in + R - 1) / R;

#if !defined(__SYNTHESIS__) && !defined(HASHHLS_CSIM_APFIXED)
    typedef hashhls_int_path<data_T, typename CONFIG_T::weight_t, typename CONFIG_T::bias_t, fan_in> P;
    if (P::ok) {
        // C simulation: the exact integer sum, with one filter's signed kernel codes (fan_in words,
        // recomputed from the hash for every call) reused across all output pixels.
        static int64_t x[CONFIG_T::in_height * CONFIG_T::in_width * CONFIG_T::n_chan];
        for (unsigned i = 0; i < CONFIG_T::in_height * CONFIG_T::in_width * C; i++) x[i] = hashhls_code(data[i]);
        int64_t kern[fan_in];
        for (unsigned f = 0; f < CONFIG_T::n_filt; f++) {
            for (unsigned t = 0; t < fan_in; t++) {  // t = (c*KH + ky)*KW + kx
                uint32_t bucket;
                bool negative;
                hashhls_bucket_sign((uint32_t)(f * fan_in + t), (uint32_t)CONFIG_T::hash_key,
                                    (uint32_t)CONFIG_T::n_buckets, bucket, negative);
                const int64_t w = hashhls_code(weights[bucket]);
                kern[t] = negative ? -w : w;
            }
            const int64_t b = hashhls_code(biases[f]) << (P::frac - P::fb);
            for (unsigned oy = 0; oy < CONFIG_T::out_height; oy++) {
                for (unsigned ox = 0; ox < CONFIG_T::out_width; ox++) {
                    int64_t sum = 0;
                    for (unsigned ky = 0; ky < KH; ky++) {
                        const int iy = (int)(oy * CONFIG_T::stride_height + ky) - (int)CONFIG_T::pad_top;
                        if (iy < 0 || iy >= (int)CONFIG_T::in_height) continue;
                        for (unsigned kx = 0; kx < KW; kx++) {
                            const int ix = (int)(ox * CONFIG_T::stride_width + kx) - (int)CONFIG_T::pad_left;
                            if (ix < 0 || ix >= (int)CONFIG_T::in_width) continue;
                            const int64_t *px = &x[((unsigned)iy * CONFIG_T::in_width + (unsigned)ix) * C];
                            for (unsigned c = 0; c < C; c++) sum += px[c] * kern[(c * KH + ky) * KW + kx];
                        }
                    }
                    res[(oy * CONFIG_T::out_width + ox) * CONFIG_T::n_filt + f] =
                        hashhls_from_codes<res_T, P::frac>(b + (sum << (P::frac - P::fd - P::fw)));
                }
            }
        }
        return;
    }
#endif

Pixels:
    for (unsigned p = 0; p < CONFIG_T::out_height * CONFIG_T::out_width; p++) {
        const unsigned oy = p / CONFIG_T::out_width, ox = p % CONFIG_T::out_width;
    Filters:
        for (unsigned f = 0; f < CONFIG_T::n_filt; f++) {
            typename CONFIG_T::accum_t acc = biases[f];
        Reuse:
            for (unsigned r = 0; r < R; r++) {
                #pragma HLS PIPELINE II=1
            Lanes:
                for (unsigned l = 0; l < n_lanes; l++) {
                    #pragma HLS UNROLL
                    const unsigned t = l * R + r;
                    if (t < fan_in) {
                        const unsigned c = t / (KH * KW), ky = (t / KW) % KH, kx = t % KW;
                        const int iy = (int)(oy * CONFIG_T::stride_height + ky) - (int)CONFIG_T::pad_top;
                        const int ix = (int)(ox * CONFIG_T::stride_width + kx) - (int)CONFIG_T::pad_left;
                        if (iy >= 0 && iy < (int)CONFIG_T::in_height && ix >= 0 && ix < (int)CONFIG_T::in_width) {
                            hashhls_mac<CONFIG_T>(acc, data[((unsigned)iy * CONFIG_T::in_width + (unsigned)ix) * C + c],
                                                  (uint32_t)(f * fan_in + t), weights);
                        }
                    }
                }
            }
            res[p * CONFIG_T::n_filt + f] = (res_T)acc; // the one rounding/saturation, in res_T's modes
        }
    }
}

// ---- io_stream: the same kernels behind FIFOs ------------------------------------------------------------
//
// hls4ml's io_stream packs a vector or a channels-last feature map into beats of data_T::size values
// (one pixel's channels for a feature map). These wrappers buffer one whole input (a vector, or one frame),
// run the kernel above, and stream the result out in res_T::size beats. A frame buffer is fine for
// MNIST/CIFAR-sized maps; a line buffer would bound it for larger ones.
template <class data_T, class res_T, unsigned n_in, unsigned n_out> struct hashhls_stream_io {
    static void read(hls::stream<data_T> &s, typename data_T::value_type x[n_in]) {
    ReadBeats:
        for (unsigned i = 0; i < n_in / data_T::size; i++) {
            #pragma HLS PIPELINE
            const data_T beat = s.read();
            for (unsigned j = 0; j < data_T::size; j++) {
                #pragma HLS UNROLL
                x[i * data_T::size + j] = beat[j];
            }
        }
    }
    static void write(typename res_T::value_type y[n_out], hls::stream<res_T> &s) {
    WriteBeats:
        for (unsigned i = 0; i < n_out / res_T::size; i++) {
            #pragma HLS PIPELINE
            res_T beat;
            PRAGMA_DATA_PACK(beat)
            for (unsigned j = 0; j < res_T::size; j++) {
                #pragma HLS UNROLL
                beat[j] = y[i * res_T::size + j];
            }
            s.write(beat);
        }
    }
};

template <class data_T, class res_T, typename CONFIG_T>
void hashed_dense(hls::stream<data_T> &data, hls::stream<res_T> &res,
                  typename CONFIG_T::weight_t weights[CONFIG_T::n_buckets],
                  typename CONFIG_T::bias_t biases[CONFIG_T::n_out]) {
    typedef hashhls_stream_io<data_T, res_T, CONFIG_T::n_in, CONFIG_T::n_out> io;
    typename data_T::value_type x[CONFIG_T::n_in];
    typename res_T::value_type y[CONFIG_T::n_out];
    io::read(data, x);
    hashed_dense<typename data_T::value_type, typename res_T::value_type, CONFIG_T>(x, y, weights, biases);
    io::write(y, res);
}

template <class data_T, class res_T, typename CONFIG_T>
void hashed_conv2d_cl(hls::stream<data_T> &data, hls::stream<res_T> &res,
                      typename CONFIG_T::weight_t weights[CONFIG_T::n_buckets],
                      typename CONFIG_T::bias_t biases[CONFIG_T::n_filt]) {
    static const unsigned n_in = CONFIG_T::in_height * CONFIG_T::in_width * CONFIG_T::n_chan;
    static const unsigned n_out = CONFIG_T::out_height * CONFIG_T::out_width * CONFIG_T::n_filt;
    typedef hashhls_stream_io<data_T, res_T, n_in, n_out> io;
    typename data_T::value_type x[n_in];
    typename res_T::value_type y[n_out];
    io::read(data, x);
    hashed_conv2d_cl<typename data_T::value_type, typename res_T::value_type, CONFIG_T>(x, y, weights, biases);
    io::write(y, res);
}

} // namespace nnet

#endif
