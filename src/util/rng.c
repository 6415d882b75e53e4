/* Counter-based random numbers: Philox4x32-10 (Salmon et al., SC'11, "Parallel random numbers:
 * as easy as 1, 2, 3"). A draw is a pure function of (seed, stream, id, counter): the velocity of
 * atom 1234 at stage 2 is the same whichever rank owns the atom, so results do not depend on the
 * number of ranks or on the order in which atoms are visited. */
#include <math.h>

#include "basin/util.h"

static inline uint64_t splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

void rng_philox4x32(uint64_t key, uint64_t ctr_hi, uint64_t ctr_lo, uint32_t out[4]) {
    uint32_t c0 = (uint32_t)ctr_lo, c1 = (uint32_t)(ctr_lo >> 32);
    uint32_t c2 = (uint32_t)ctr_hi, c3 = (uint32_t)(ctr_hi >> 32);
    uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    for (int round = 0; round < 10; ++round) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c0;
        uint64_t p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = (uint32_t)p0;
        c0 = n0;
        c1 = n1;
        c2 = n2;
        c3 = n3;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/* 53 random bits mapped to the open interval (0, 1): log() in Box-Muller never sees 0. */
static inline double to_open01(uint64_t x) {
    return ((double)(x >> 11) + 0.5) * 0x1.0p-53;
}

static void draw4(uint64_t seed, uint32_t stream, uint64_t id, uint64_t counter, uint32_t o[4]) {
    /* The stream is folded into the key, so streams are independent generators. */
    uint64_t key = splitmix64(seed ^ splitmix64((uint64_t)stream + 0x632BE59BD9B4E019ull));
    rng_philox4x32(key, counter, id, o);
}

void rng_uniform2(uint64_t seed, uint32_t stream, uint64_t id, uint64_t counter, double u[2]) {
    uint32_t o[4];
    draw4(seed, stream, id, counter, o);
    u[0] = to_open01(((uint64_t)o[0] << 32) | o[1]);
    u[1] = to_open01(((uint64_t)o[2] << 32) | o[3]);
}

double rng_uniform(uint64_t seed, uint32_t stream, uint64_t id, uint64_t counter) {
    double u[2];
    rng_uniform2(seed, stream, id, counter, u);
    return u[0];
}

void rng_normal2(uint64_t seed, uint32_t stream, uint64_t id, uint64_t counter, double g[2]) {
    double u[2];
    rng_uniform2(seed, stream, id, counter, u);
    double r = sqrt(-2.0 * log(u[0]));
    double phi = 2.0 * M_PI * u[1];
    g[0] = r * cos(phi);
    g[1] = r * sin(phi);
}

void rng_normal3(uint64_t seed, uint32_t stream, uint64_t id, uint64_t counter, double g[3]) {
    /* Two blocks (counter*2, counter*2+1) give four normals; the fourth is dropped. */
    double a[2], b[2];
    rng_normal2(seed, stream, id, 2 * counter, a);
    rng_normal2(seed, stream, id, 2 * counter + 1, b);
    g[0] = a[0];
    g[1] = a[1];
    g[2] = b[0];
}
