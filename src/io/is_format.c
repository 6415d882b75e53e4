/* is_format.c: the column table of is.h5 (include/basin/is_format.h). The descriptions are
 * written into the file as each dataset's "description" attribute, so a user with h5ls sees
 * units and definitions without the docs. */
#include "basin/is_format.h"

const H5mdColumn is_columns[IS_NCOLS] = {
    [IS_COL_STEP] = {"step", H5MD_COL_I64, "MD step of the configuration r(t) that was quenched"},
    [IS_COL_TIME] = {"time", H5MD_COL_F64, "t = step * dt (tau)"},
    [IS_COL_INDEX] = {"index", H5MD_COL_I64, "sample number, 0 for the first"},
    [IS_COL_PHI] = {"phi", H5MD_COL_F64, "Phi_IS(t), total potential energy of the IS (epsilon)"},
    [IS_COL_DR] = {"dr", H5MD_COL_F64,
                   "|Delta r_IS| = |r_IS(t) - r_IS(t - Dt)| (sigma, minimum image; 0 for the "
                   "first)"},
    [IS_COL_DPHI] = {"dphi", H5MD_COL_F64, "|Phi_IS(t) - Phi_IS(t - Dt)| (epsilon)"},
    [IS_COL_NREARR] = {"n_rearr", H5MD_COL_F64,
                       "N_rearr = (sum_i |d_i|^2)^2 / sum_i |d_i|^4 of Delta r_IS (PHYSICS.md "
                       "Eq. 7)"},
    [IS_COL_DRMAX] = {"dr_max", H5MD_COL_F64, "max_i |Delta r_IS,i| (sigma)"},
    [IS_COL_DRMAX_ID] = {"dr_max_id", H5MD_COL_I64,
                         "id of that particle (-1 for the first sample)"},
    [IS_COL_DR0] = {"dr0", H5MD_COL_F64, "|r_IS(t) - r_IS(0)| (sigma)"},
    [IS_COL_DPHI0] = {"dphi0", H5MD_COL_F64, "Phi_IS(t) - Phi_IS(0) (epsilon)"},
    [IS_COL_EVENT] = {"event", H5MD_COL_I64, "1 if dr > event_threshold"},
    [IS_COL_CONVERGED] = {"converged", H5MD_COL_I64, "1 if the quench met its tolerance"},
    [IS_COL_ITER] = {"iterations", H5MD_COL_I64, "minimiser iterations of the quench"},
    [IS_COL_EVALS] = {"force_evals", H5MD_COL_I64, "force evaluations of the quench"},
    [IS_COL_FMAX] = {"fmax", H5MD_COL_F64, "final max_i |F_i| (epsilon/sigma)"},
    [IS_COL_FNORM] = {"fnorm", H5MD_COL_F64, "final ||F||_2 (epsilon/sigma)"},
    [IS_COL_SECONDS] = {"seconds", H5MD_COL_F64, "wall time of the sample (s)"},
    [IS_COL_FRAME] = {"frame", H5MD_COL_I64,
                      "frame of /particles/trajectory holding this IS (-1: not stored)"},
    [IS_COL_SD_DR] = {"sd_dr", H5MD_COL_F64,
                      "inherent.verify = sd: |Delta r| between the steepest-descent IS of "
                      "r(t - Dt) and of r(t) (sigma; -1: not verified)"},
    [IS_COL_SD_EVENT] = {"sd_event", H5MD_COL_I64,
                         "1 if sd_dr > event_threshold: steepest descent confirms the event "
                         "(-1: not verified)"},
    [IS_COL_SD_EVALS] = {"sd_evals", H5MD_COL_I64,
                         "force evaluations of the two verifying steepest-descent quenches"},
};
