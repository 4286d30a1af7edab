// hashhls: dense and convolution layers with hashed weights, computing each weight's address on chip.
//
// The hash is docs/hash-spec.md. Version 1 (HashedNets, Chen et al. 2015, with a murmur3 fmix32 mix and
// multiply-high range reduction) feeds one K-word array to every lane. Version 2 (blocked) splits the K
// buckets into P banks laid out as `ARRAY_PARTITION block factor=P`; lane l of the kernel processes the
// inputs i with i mod P = l, which hash only into bank l, so each lane reads its own bank once per cycle.
// Only the K bucket weights are stored; no table of N*M weights, buckets or signs exists in this file.
//
// Arithmetic (docs/design.md "Fixed point"): acc = bias + sum_i sign * w[bucket] * x_i in an accumulator
// type wide enough to be exact, then one conversion to res_T (its rounding and saturation).
//
// C simulation: nnet_hashed_csim.h (included only when __SYNTHESIS__ is not defined) replaces the loops
// below by an exact integer computation on a table of signed virtual weight codes built once per process.
// Define HASHHLS_CSIM_APFIXED to simulate the synthesis path instead (hw_tests/test_hashed_kernel.py
// compiles both and compares them).
#ifndef NNET_HASHED_H_
#define NNET_HASHED_H_

#include <stdint.h>

#include "ap_fixed.h"
#include "hls_stream.h"

#include "nnet_common.h"
#include "nnet_types.h"

namespace nnet {

static const uint32_t hashhls_seed_salt = 0x9E3779B9u;

// ---- hash version 1 ----------------------------------------------------------------------------------

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

// ---- hash version 2 (blocked) ------------------------------------------------------------------------

// Round j's shift amounts, in sixteenths of the width W: x += x << a_j, then x ^= x >> b_j.
template <unsigned W, unsigned S16> struct hashhls_v2_shift {
    static const unsigned raw = (W * S16 + 8) >> 4;
    static const unsigned value = raw < 1 ? 1 : (raw > W - 1 ? W - 1 : raw);
};
template <unsigned W> struct hashhls_v2_mask { static const uint32_t value = (uint32_t)((((uint64_t)1) << W) - 1); };

// One round on W bits: XOR with a constant, one W-bit adder, one XOR-shift. Each step is a bijection.
template <unsigned W, unsigned A16, unsigned B16> inline uint32_t hashhls_v2_round(uint32_t x, uint32_t k) {
    #pragma HLS INLINE
    const uint32_t m = hashhls_v2_mask<W>::value;
    x = (x ^ k) & m;
    x = (x + (x << hashhls_v2_shift<W, A16>::value)) & m;
    return x ^ (x >> hashhls_v2_shift<W, B16>::value);
}

// The 4-round mixer of docs/hash-spec.md "Version 2": shifts (7,6), (9,3), (4,5), (7,9) sixteenths of W.
template <unsigned W> inline uint32_t hashhls_v2_mix(uint32_t x, uint32_t k0, uint32_t k1, uint32_t k2, uint32_t k3) {
    #pragma HLS INLINE
    x = hashhls_v2_round<W, 7, 6>(x, k0);
    x = hashhls_v2_round<W, 9, 3>(x, k1);
    x = hashhls_v2_round<W, 4, 5>(x, k2);
    return hashhls_v2_round<W, 7, 9>(x, k3);
}

// Round key j = fmix32(key + j * 0x9E3779B9) mod 2^W; the code generator folds them into config constants.
inline uint32_t hashhls_v2_round_key(uint32_t seed, unsigned width, unsigned j) {
    const uint32_t mask = (uint32_t)((((uint64_t)1) << width) - 1);
    return hashhls_fmix32((uint32_t)(hashhls_layer_key(seed) + j * hashhls_seed_salt)) & mask;
}

// (x * size) >> (W - 1): the range reduction into one bank, a multiply by the bank's constant size.
// address_in_fabric: build it from LUTs (0 DSP48 per address, bench/results/address_unit.md).
template <unsigned W, bool fabric> struct hashhls_v2_mulhi {
    static uint32_t run(uint32_t x, uint32_t size) {
        #pragma HLS INLINE
        const uint64_t p = (uint64_t)x * (uint64_t)size;
        #pragma HLS RESOURCE variable=p core=Mul_LUT
        return (uint32_t)(p >> (W - 1));
    }
};
template <unsigned W> struct hashhls_v2_mulhi<W, false> {
    static uint32_t run(uint32_t x, uint32_t size) {
        #pragma HLS INLINE
        return (uint32_t)(((uint64_t)x * (uint64_t)size) >> (W - 1));
    }
};

// The bank layout of `ARRAY_PARTITION block factor=P` on a K-word array: P-1 banks of floor(K/P), the last
// holds the rest (UG1399, array_partition). Bank l is partition l.
template <unsigned K, unsigned P> struct hashhls_banks {
    static const unsigned size = K / P;                // banks 0 .. P-2
    static const unsigned last_size = K - (P - 1) * size;  // bank P-1
    static unsigned base(unsigned bank) { return bank * size; }
    static unsigned bank_size(unsigned bank) { return bank == P - 1 ? last_size : size; }
};

// Bucket (in bank `bank`) and sign of flat virtual index f. In the kernels `bank` is the lane number,
// an unrolled constant: the bank size is a constant and the base is the start of partition `bank`.
template <typename CONFIG_T>
inline void hashhls_v2_bucket_sign(uint32_t f, unsigned bank, uint32_t &bucket, bool &negative) {
    #pragma HLS INLINE
    typedef hashhls_banks<CONFIG_T::n_buckets, CONFIG_T::n_banks> L;
    const uint32_t h = hashhls_v2_mix<CONFIG_T::hash_width>(f, CONFIG_T::round_key0, CONFIG_T::round_key1,
                                                             CONFIG_T::round_key2, CONFIG_T::round_key3);
    bucket = L::base(bank) + hashhls_v2_mulhi<CONFIG_T::hash_width, CONFIG_T::address_in_fabric>::run(
                                 h >> 1, L::bank_size(bank));
    negative = (h & 1u) != 0;
}

// The banked kernels' loop: at reuse step r, lane l processes input (or tap) i = r * P + l, so i mod P = l.
template <typename CONFIG_T> inline unsigned hashhls_banked_input(unsigned r, unsigned lane) {
    #pragma HLS INLINE
    return r * CONFIG_T::n_banks + lane;
}

// Compile-time check (C++03-compatible): the config's reuse factor is the one P lanes need.
template <bool ok> struct hashhls_reuse_factor_must_be_ceil_fan_in_over_banks;
template <> struct hashhls_reuse_factor_must_be_ceil_fan_in_over_banks<true> {};

// ---- configs -----------------------------------------------------------------------------------------

struct hashed_dense_config {
    // Layer sizes
    static const unsigned n_in = 10;
    static const unsigned n_out = 10;
    static const unsigned n_buckets = 10;
    // Hash (version 1: seed, hash_key; version 2 adds the rest)
    static const unsigned seed = 0;
    static const unsigned hash_key = 0;
    static const unsigned hash_version = 1;
    static const unsigned n_banks = 1;
    static const unsigned hash_width = 8;
    static const unsigned round_key0 = 0, round_key1 = 0, round_key2 = 0, round_key3 = 0;
    static const bool address_in_fabric = true;
    // Resource / implementation
    static const unsigned io_type = io_parallel;
    static const unsigned reuse_factor = 1;
    typedef float accum_t;
    typedef float weight_t;
    typedef float bias_t;
};

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
    static const unsigned hash_version = 1;
    static const unsigned n_banks = 1;
    static const unsigned hash_width = 8;
    static const unsigned round_key0 = 0, round_key1 = 0, round_key2 = 0, round_key3 = 0;
    static const bool address_in_fabric = true;
    // Resource / implementation
    static const unsigned reuse_factor = 1;
    typedef float accum_t;
    typedef float weight_t;
    typedef float bias_t;
};

// The address of one virtual weight, by hash version (used by the kernels and by the C simulation tables).
template <typename CONFIG_T, unsigned version> struct hashhls_address;
template <typename CONFIG_T> struct hashhls_address<CONFIG_T, 1> {
    static void run(uint32_t f, unsigned /*lane*/, uint32_t &bucket, bool &negative) {
        #pragma HLS INLINE
        hashhls_bucket_sign(f, (uint32_t)CONFIG_T::hash_key, (uint32_t)CONFIG_T::n_buckets, bucket, negative);
    }
};
template <typename CONFIG_T> struct hashhls_address<CONFIG_T, 2> {
    static void run(uint32_t f, unsigned lane, uint32_t &bucket, bool &negative) {
        #pragma HLS INLINE
        hashhls_v2_bucket_sign<CONFIG_T>(f, lane, bucket, negative);
    }
};

} // namespace nnet

#if !defined(__SYNTHESIS__) && !defined(HASHHLS_CSIM_APFIXED)
#include "nnet_hashed_csim.h"
#define HASHHLS_CSIM_FAST 1
#else
#define HASHHLS_CSIM_FAST 0
#endif

namespace nnet {

// acc += sign * w * x: one exact multiply-accumulate (the product of two ap_fixed is exact; accum_t is
// wide enough for every partial sum).
template <class accum_T, class data_T, class weight_T>
inline void hashhls_accumulate(accum_T &acc, const data_T &x, const weight_T &w, bool negative) {
    #pragma HLS INLINE
    if (negative) {
        acc -= x * w;
    } else {
        acc += x * w;
    }
}

// acc += sign(f) * W[bucket(f)] * x: one on-chip address computation (version 1) and one exact MAC.
template <typename CONFIG_T, class accum_T, class data_T>
inline void hashhls_mac(accum_T &acc, const data_T &x, uint32_t f,
                        const typename CONFIG_T::weight_t weights[CONFIG_T::n_buckets]) {
    #pragma HLS INLINE
    uint32_t bucket;
    bool negative;
    hashhls_bucket_sign(f, (uint32_t)CONFIG_T::hash_key, (uint32_t)CONFIG_T::n_buckets, bucket, negative);
    hashhls_accumulate(acc, x, weights[bucket], negative);
}

// ---- dense, hash version 1 -----------------------------------------------------------------------------
//
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

#if HASHHLS_CSIM_FAST
    if (hashhls_csim::dense<data_T, res_T, CONFIG_T, 1>(data, res, weights, biases)) return;
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

// ---- dense, hash version 2: the banked kernel ----------------------------------------------------------
//
// P = n_banks lanes, reuse factor R = ceil(n_in / P). At step r, lane l multiplies input i = r*P + l by
// the weight in bank l (partition l of `weights`): each lane reads one bank once per cycle, so the
// pipeline reaches II=1 with the K words stored exactly once. n_out * R cycles, P multipliers, P address
// units (4 W-bit adders and a constant multiply each, bench/results/address_unit.md).
template <class data_T, class res_T, typename CONFIG_T>
void hashed_dense_banked(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_out],
                         typename CONFIG_T::weight_t weights[CONFIG_T::n_buckets],
                         typename CONFIG_T::bias_t biases[CONFIG_T::n_out]) {
    static const unsigned n_banks = CONFIG_T::n_banks;
    static const unsigned R = (CONFIG_T::n_in + n_banks - 1) / n_banks;
    typedef hashhls_reuse_factor_must_be_ceil_fan_in_over_banks<CONFIG_T::reuse_factor == R> reuse_check;
    typedef char hashhls_reuse_ok[sizeof(reuse_check)];
    #pragma HLS function_instantiate variable=weights,biases
    #pragma HLS ARRAY_PARTITION variable=weights block factor=n_banks
    #pragma HLS ARRAY_PARTITION variable=biases complete

#if HASHHLS_CSIM_FAST
    if (hashhls_csim::dense<data_T, res_T, CONFIG_T, 2>(data, res, weights, biases)) return;
#endif

Outputs:
    for (unsigned o = 0; o < CONFIG_T::n_out; o++) {
        typename CONFIG_T::accum_t acc = biases[o];
    Reuse:
        for (unsigned r = 0; r < R; r++) {
            #pragma HLS PIPELINE II=1
        Lanes:
            for (unsigned l = 0; l < n_banks; l++) {
                #pragma HLS UNROLL
                const unsigned i = hashhls_banked_input<CONFIG_T>(r, l);
                if (i < CONFIG_T::n_in) {
                    uint32_t bucket;
                    bool negative;
                    hashhls_v2_bucket_sign<CONFIG_T>((uint32_t)(o * CONFIG_T::n_in + i), l, bucket, negative);
                    hashhls_accumulate(acc, data[i], weights[bucket], negative);
                }
            }
        }
        res[o] = (res_T)acc; // the one rounding/saturation, in res_T's modes
    }
}

// ---- convolution, hash version 1 -----------------------------------------------------------------------
//
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

#if HASHHLS_CSIM_FAST
    if (hashhls_csim::conv2d<data_T, res_T, CONFIG_T, 1>(data, res, weights, biases)) return;
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

// ---- convolution, hash version 2: the banked kernel ----------------------------------------------------
//
// As hashed_conv2d_cl, with P = n_banks lanes over the fan_in taps: at step r lane l handles tap
// t = r*P + l (t = (c*kh + ky)*kw + kx, torch order) and reads only bank l. R = ceil(fan_in / P).
template <class data_T, class res_T, typename CONFIG_T>
void hashed_conv2d_banked_cl(data_T data[CONFIG_T::in_height * CONFIG_T::in_width * CONFIG_T::n_chan],
                             res_T res[CONFIG_T::out_height * CONFIG_T::out_width * CONFIG_T::n_filt],
                             typename CONFIG_T::weight_t weights[CONFIG_T::n_buckets],
                             typename CONFIG_T::bias_t biases[CONFIG_T::n_filt]) {
    static const unsigned KH = CONFIG_T::filt_height, KW = CONFIG_T::filt_width, C = CONFIG_T::n_chan;
    static const unsigned fan_in = C * KH * KW;
    static const unsigned n_banks = CONFIG_T::n_banks;
    static const unsigned R = (fan_in + n_banks - 1) / n_banks;
    typedef hashhls_reuse_factor_must_be_ceil_fan_in_over_banks<CONFIG_T::reuse_factor == R> reuse_check;
    typedef char hashhls_reuse_ok[sizeof(reuse_check)];
    #pragma HLS function_instantiate variable=weights,biases
    #pragma HLS ARRAY_PARTITION variable=weights block factor=n_banks
    #pragma HLS ARRAY_PARTITION variable=biases complete

#if HASHHLS_CSIM_FAST
    if (hashhls_csim::conv2d<data_T, res_T, CONFIG_T, 2>(data, res, weights, biases)) return;
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
                for (unsigned l = 0; l < n_banks; l++) {
                    #pragma HLS UNROLL
                    const unsigned t = hashhls_banked_input<CONFIG_T>(r, l);
                    if (t < fan_in) {
                        const unsigned c = t / (KH * KW), ky = (t / KW) % KH, kx = t % KW;
                        const int iy = (int)(oy * CONFIG_T::stride_height + ky) - (int)CONFIG_T::pad_top;
                        const int ix = (int)(ox * CONFIG_T::stride_width + kx) - (int)CONFIG_T::pad_left;
                        if (iy >= 0 && iy < (int)CONFIG_T::in_height && ix >= 0 && ix < (int)CONFIG_T::in_width) {
                            uint32_t bucket;
                            bool negative;
                            hashhls_v2_bucket_sign<CONFIG_T>((uint32_t)(f * fan_in + t), l, bucket, negative);
                            hashhls_accumulate(acc, data[((unsigned)iy * CONFIG_T::in_width + (unsigned)ix) * C + c],
                                               weights[bucket], negative);
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
void hashed_dense_banked(hls::stream<data_T> &data, hls::stream<res_T> &res,
                         typename CONFIG_T::weight_t weights[CONFIG_T::n_buckets],
                         typename CONFIG_T::bias_t biases[CONFIG_T::n_out]) {
    typedef hashhls_stream_io<data_T, res_T, CONFIG_T::n_in, CONFIG_T::n_out> io;
    typename data_T::value_type x[CONFIG_T::n_in];
    typename res_T::value_type y[CONFIG_T::n_out];
    io::read(data, x);
    hashed_dense_banked<typename data_T::value_type, typename res_T::value_type, CONFIG_T>(x, y, weights, biases);
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

template <class data_T, class res_T, typename CONFIG_T>
void hashed_conv2d_banked_cl(hls::stream<data_T> &data, hls::stream<res_T> &res,
                             typename CONFIG_T::weight_t weights[CONFIG_T::n_buckets],
                             typename CONFIG_T::bias_t biases[CONFIG_T::n_filt]) {
    static const unsigned n_in = CONFIG_T::in_height * CONFIG_T::in_width * CONFIG_T::n_chan;
    static const unsigned n_out = CONFIG_T::out_height * CONFIG_T::out_width * CONFIG_T::n_filt;
    typedef hashhls_stream_io<data_T, res_T, n_in, n_out> io;
    typename data_T::value_type x[n_in];
    typename res_T::value_type y[n_out];
    io::read(data, x);
    hashed_conv2d_banked_cl<typename data_T::value_type, typename res_T::value_type, CONFIG_T>(x, y, weights,
                                                                                                biases);
    io::write(y, res);
}

} // namespace nnet

#endif
