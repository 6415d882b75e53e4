/* msd.c: mean-squared displacement over time origins (PHYSICS.md section 3):
 *
 *   MSD(k) = < (1/N) sum_i |r_i(t0 + k) - r_i(t0)|^2 >_{t0}
 *
 * from unwrapped positions (x + L image), frames in id-block order. Each rank sums its atoms'
 * squared displacements for every (origin, lag) pair and a single par_sum_d of the nframes
 * per-lag sums completes the average (the number of origins per lag is known everywhere), so
 * the result does not depend on the rank count beyond summation order. Direct O(F^2 n) sum
 * with an origin stride rather than the FFT method: F is at most a few thousand frames in the
 * basin workflow, and the direct sum needs no extra O(F n) copy.
 */
#include <stdlib.h>

#include "basin/analysis.h"
#include "basin/util.h"

int analysis_msd(int64_t natoms, int64_t n, int nframes, const double *const *frames,
                 int origin_stride, double *msd) {
    if (nframes < 1 || natoms < 1 || origin_stride < 1)
        return basin_error(BASIN_ERR_CONFIG, "analysis", "msd",
                           "need nframes >= 1, natoms >= 1, origin_stride >= 1 (got %d, %lld, %d)",
                           nframes, (long long)natoms, origin_stride);
    for (int k = 0; k < nframes; ++k)
        msd[k] = 0.0;
    for (int t0 = 0; t0 < nframes; t0 += origin_stride) {
        const double *a = frames[t0];
        for (int k = 1; t0 + k < nframes; ++k) {
            const double *b = frames[t0 + k];
            double s = 0.0;
            for (int64_t q = 0; q < 3 * n; ++q) {
                const double dx = b[q] - a[q];
                s += dx * dx;
            }
            msd[k] += s;
        }
    }
    par_sum_d(msd, nframes);
    for (int k = 1; k < nframes; ++k) {
        /* origins t0 = 0, stride, ... with t0 + k < nframes */
        const int norig = (nframes - 1 - k) / origin_stride + 1;
        msd[k] /= (double)norig * (double)natoms;
    }
    msd[0] = 0.0;
    return 0;
}
