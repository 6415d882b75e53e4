/* Nose-Hoover chain thermostat (Martyna, Klein, Tuckerman, J. Chem. Phys. 97, 2635 (1992);
 * integrator of Martyna, Tuckerman, Tobias, Klein, Mol. Phys. 87, 1117 (1996)), written to
 * reproduce LAMMPS `fix nvt` (src/fix_nh.cpp, FixNH::nhc_temp_integrate) step for step.
 *
 * Equations of motion (mass 1, k_B = 1, N_f = 3N - 3 degrees of freedom, target T):
 *   dv_i/dt      = f_i - xi_1 v_i
 *   dxi_1/dt     = (2K - N_f T) / Q_1 - xi_1 xi_2
 *   dxi_k/dt     = (Q_{k-1} xi_{k-1}^2 - T) / Q_k - xi_k xi_{k+1}     (xi_{M+1} = 0)
 *   deta_k/dt    = xi_k
 *   Q_1 = N_f T tdamp^2,   Q_k = T tdamp^2  (k > 1),   tdamp = 1 / (LAMMPS t_freq)
 * Conserved: H = K + Phi + N_f T eta_1 + T sum_{k>1} eta_k + sum_k Q_k xi_k^2 / 2.
 *
 * One half step (dt/2), repeated nloop times with dt/nloop (LAMMPS tloop, default 1; LAMMPS
 * applies no Suzuki-Yoshida weights to the temperature chain, and neither do we):
 *   for k = M..2: xi_k <- xi_k e^{-dt/8 xi_{k+1}};  xi_k += a_k dt/4;  xi_k <- xi_k e^{-dt/8
 * xi_{k+1}} same for xi_1 with a_1 = (2K - N_f T)/Q_1 s = exp(-dt/2 xi_1): velocities scale by s, K
 * by s^2; a_1 recomputed eta_k += dt/2 xi_k for k = 1..M: xi_k <- xi_k e^{-dt/8 xi_{k+1}}; a_k
 * recomputed (k > 1); xi_k += a_k dt/4; again The MD step calls it before the first half-kick and
 * after the second (LAMMPS initial_integrate / final_integrate order), so the whole step is
 * time-reversible and conserves H to O(dt^2) like plain velocity Verlet. Units: T in eps, tdamp and
 * dt in sqrt(m sigma^2/eps), Q in eps time^2, xi in 1/time.
 */
#include <math.h>
#include <string.h>

#include "basin/md.h"
#include "basin/util.h"

int nhc_init(NhcChain *c, int m, double t_target, double ndof, double tdamp, double dt) {
    memset(c, 0, sizeof(*c));
    if (m < 1 || m > NHC_MAX_CHAIN)
        return basin_error(BASIN_ERR_CONFIG, NULL, "thermostat.chain", "must be in [1, %d], got %d",
                           NHC_MAX_CHAIN, m);
    if (!(t_target > 0.0) || !(ndof > 0.0) || !(tdamp > 0.0) || !(dt > 0.0))
        return basin_error(BASIN_ERR_CONFIG, NULL, "thermostat",
                           "NHC needs T > 0, N_f > 0, tdamp > 0, dt > 0 (got T = %g, N_f = %g, "
                           "tdamp = %g, dt = %g)",
                           t_target, ndof, tdamp, dt);
    c->m = m;
    c->nloop = 1;
    c->t_target = t_target;
    c->ndof = ndof;
    c->tdamp = tdamp;
    c->dt = dt;
    c->q[0] = ndof * t_target * tdamp * tdamp;
    for (int k = 1; k < m; ++k)
        c->q[k] = t_target * tdamp * tdamp;
    /* LAMMPS FixNH::setup: accelerations of the upper chain from the (zero) velocities below */
    for (int k = 1; k < m; ++k)
        c->eta_dotdot[k] =
            (c->q[k - 1] * c->eta_dot[k - 1] * c->eta_dot[k - 1] - t_target) / c->q[k];
    return 0;
}

double nhc_half_step(NhcChain *c, double ke) {
    const int m = c->m;
    const double t = c->t_target;
    const double ke2_target = c->ndof * t; /* 2 K_target */
    const double ncfac = 1.0 / c->nloop;
    const double dthalf = 0.5 * c->dt * ncfac, dt4 = 0.25 * c->dt * ncfac,
                 dt8 = 0.125 * c->dt * ncfac;
    double ke2 = 2.0 * ke;
    double scale = 1.0;
    c->eta_dot[m] = 0.0;
    c->eta_dotdot[0] = (ke2 - ke2_target) / c->q[0];
    for (int loop = 0; loop < c->nloop; ++loop) {
        for (int k = m - 1; k > 0; --k) {
            const double e = exp(-dt8 * c->eta_dot[k + 1]);
            c->eta_dot[k] = (c->eta_dot[k] * e + c->eta_dotdot[k] * dt4) * e;
        }
        double e = exp(-dt8 * c->eta_dot[1]);
        c->eta_dot[0] = (c->eta_dot[0] * e + c->eta_dotdot[0] * dt4) * e;

        const double s = exp(-dthalf * c->eta_dot[0]);
        scale *= s;
        ke2 *= s * s;
        c->eta_dotdot[0] = (ke2 - ke2_target) / c->q[0];

        for (int k = 0; k < m; ++k)
            c->eta[k] += dthalf * c->eta_dot[k];

        /* LAMMPS reuses the xi_2 factor of the first sweep for xi_1 here: xi_2 has not moved */
        c->eta_dot[0] = (c->eta_dot[0] * e + c->eta_dotdot[0] * dt4) * e;
        for (int k = 1; k < m; ++k) {
            e = exp(-dt8 * c->eta_dot[k + 1]);
            c->eta_dot[k] *= e;
            c->eta_dotdot[k] = (c->q[k - 1] * c->eta_dot[k - 1] * c->eta_dot[k - 1] - t) / c->q[k];
            c->eta_dot[k] = (c->eta_dot[k] + c->eta_dotdot[k] * dt4) * e;
        }
    }
    return scale;
}

double nhc_energy(const NhcChain *c) {
    double e = c->ndof * c->t_target * c->eta[0] + 0.5 * c->q[0] * c->eta_dot[0] * c->eta_dot[0];
    for (int k = 1; k < c->m; ++k)
        e += c->t_target * c->eta[k] + 0.5 * c->q[k] * c->eta_dot[k] * c->eta_dot[k];
    return e;
}
