/* restart.c: the MD part of a checkpoint (basin/md.h md_checkpoint_*): atoms and integrator.
 *
 * Bitwise continuation. A force is a sum over neighbours in list order, and the list order
 * depends on the atom order and the ghost layout at the last list build. Storing positions and
 * velocities alone would therefore continue the trajectory only to round-off. Instead the
 * checkpoint stores, per atom, the positions at the last list build (x_build) next to the
 * current ones, and the restore replays that build: distribute x_build, domain_rebuild() (whose
 * owned order is (cell, id), a function of the positions alone: src/domain/neighbor.c), then
 * put the current x, v and image flags in place by id and refresh the ghosts with
 * domain_forward(), as the uninterrupted run did at this step. Owned set, atom order, ghost
 * order, list, and so every later force and reduction, are those of the uninterrupted run on
 * the same number of ranks; on another rank count the decomposition differs and the
 * continuation agrees to round-off (tests/md/test_restart.sh checks both).
 *
 * Per-atom data is written from id-blocks (one idblock_move): the file does not depend on the
 * rank count. The restore reads whole arrays on every rank (O(N) per rank, as every start-up
 * path of basin: domain_distribute() takes global arrays).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "basin/checkpoint.h"
#include "basin/h5md.h"
#include "basin/md.h"
#include "basin/util.h"

_Static_assert(sizeof(int) == sizeof(int32_t), "species are stored as int32");

/* The integrator's scalars as one table for save and restore; integers travel through ints[]. */
enum { MD_INTS = 5 };
static int state_table(MdState *s, int64_t *ints, CkptEntry *e) {
    NhcChain *h = &s->nhc;
    const CkptEntry t[] = {
        {"md/ints", ints, CKPT_I64, MD_INTS, CKPT_GLOBAL}, /* step, ensemble, m, nloop, chain */
        {"md/dt", &s->dt, CKPT_F64, 1, CKPT_GLOBAL},
        {"md/ke", &s->ke, CKPT_F64, 1, CKPT_GLOBAL},
        {"md/tdamp", &s->tdamp, CKPT_F64, 1, CKPT_GLOBAL},
        {"md/nhc/t_target", &h->t_target, CKPT_F64, 1, CKPT_GLOBAL},
        {"md/nhc/ndof", &h->ndof, CKPT_F64, 1, CKPT_GLOBAL},
        {"md/nhc/tdamp", &h->tdamp, CKPT_F64, 1, CKPT_GLOBAL},
        {"md/nhc/dt", &h->dt, CKPT_F64, 1, CKPT_GLOBAL},
        {"md/nhc/q", h->q, CKPT_F64, NHC_MAX_CHAIN, CKPT_GLOBAL},
        {"md/nhc/eta", h->eta, CKPT_F64, NHC_MAX_CHAIN, CKPT_GLOBAL},
        {"md/nhc/eta_dot", h->eta_dot, CKPT_F64, NHC_MAX_CHAIN + 1, CKPT_GLOBAL},
        {"md/nhc/eta_dotdot", h->eta_dotdot, CKPT_F64, NHC_MAX_CHAIN, CKPT_GLOBAL},
    };
    const int n = (int)(sizeof t / sizeof t[0]);
    memcpy(e, t, sizeof t);
    return n;
}

int md_checkpoint_save(Ckpt *c, MdState *s) {
    const Domain *d = s->d;
    const int64_t n = d->natoms;
    int64_t lo, hi;
    idblock_range(n, par_rank(), par_size(), &lo, &hi);
    const int64_t nb = hi - lo;
    double *x = NULL, *xb = NULL, *v = NULL;
    int32_t *img = NULL, *sp = NULL;
    int rc = BALLOC(x, 3 * nb + 1);
    if (!rc) rc = BALLOC(xb, 3 * nb + 1);
    if (!rc) rc = BALLOC(v, 3 * nb + 1);
    if (!rc) rc = BALLOC(img, 3 * nb + 1);
    if (!rc) rc = BALLOC(sp, nb + 1);
    rc = basin_error_agree(rc);
    if (!rc) {
        const IdblockField f[5] = {
            {d->x, x, 8, 3},       {d->x_build, xb, 8, 3}, {d->v, v, 8, 3},
            {d->image, img, 4, 3}, {d->species, sp, 4, 1},
        };
        rc = idblock_move(n, d->nlocal, d->id, 5, f);
    }
    if (!rc) {
        const CkptEntry a[] = {
            {"atoms/x", x, CKPT_F64, 3 * nb, CKPT_BLOCK},
            {"atoms/x_build", xb, CKPT_F64, 3 * nb, CKPT_BLOCK},
            {"atoms/v", v, CKPT_F64, 3 * nb, CKPT_BLOCK},
            {"atoms/image", img, CKPT_I32, 3 * nb, CKPT_BLOCK},
            {"atoms/species", sp, CKPT_I32, nb, CKPT_BLOCK},
        };
        rc = ckpt_io(c, a, 5);
    }
    if (!rc) {
        int64_t ints[MD_INTS] = {s->step, s->ensemble, s->nhc.m, s->nhc.nloop, s->nhc_chain};
        CkptEntry e[16];
        const int ne = state_table(s, ints, e);
        rc = ckpt_io(c, e, ne);
    }
    free(x);
    free(xb);
    free(v);
    free(img);
    free(sp);
    return rc;
}

int md_checkpoint_load(Ckpt *c, MdState *s, int64_t n) {
    Domain *d = s->d;
    double *x = NULL, *xb = NULL, *v = NULL;
    int32_t *img = NULL, *sp = NULL;
    int rc = BALLOC(x, 3 * n);
    if (!rc) rc = BALLOC(xb, 3 * n);
    if (!rc) rc = BALLOC(v, 3 * n);
    if (!rc) rc = BALLOC(img, 3 * n);
    if (!rc) rc = BALLOC(sp, n);
    rc = basin_error_agree(rc);
    if (!rc) {
        /* written as id-blocks, read whole on every rank: the lengths are the same */
        const CkptEntry a[] = {
            {"atoms/x", x, CKPT_F64, 3 * n, CKPT_GLOBAL},
            {"atoms/x_build", xb, CKPT_F64, 3 * n, CKPT_GLOBAL},
            {"atoms/v", v, CKPT_F64, 3 * n, CKPT_GLOBAL},
            {"atoms/image", img, CKPT_I32, 3 * n, CKPT_GLOBAL},
            {"atoms/species", sp, CKPT_I32, n, CKPT_GLOBAL},
        };
        rc = ckpt_io(c, a, 5);
    }
    int64_t ints[MD_INTS] = {0};
    if (!rc) {
        CkptEntry e[16];
        const int ne = state_table(s, ints, e);
        rc = ckpt_io(c, e, ne);
    }
    /* a chain that never ran (thermostat.kind = none, or a crystal restarted in NVE) is all
     * zeros: m = nloop = 0 is valid then, but not with an NVT ensemble */
    if (!rc && (ints[0] < 0 || (ints[1] != MD_NVE && ints[1] != MD_NVT) || ints[2] < 0 ||
                ints[2] > NHC_MAX_CHAIN || ints[3] < 0 ||
                (ints[1] == MD_NVT && (ints[2] < 1 || ints[3] < 1))))
        rc = basin_error(BASIN_ERR_IO, "checkpoint", "md/ints",
                         "invalid integrator state (step %lld, ensemble %lld, chain %lld)",
                         (long long)ints[0], (long long)ints[1], (long long)ints[2]);
    rc = basin_error_agree(rc);
    /* replay the last list build, then move to the current state (file comment) */
    if (!rc) rc = domain_distribute(d, n, xb, NULL, sp, NULL);
    if (!rc) rc = domain_rebuild(d);
    if (!rc) {
        for (int i = 0; i < d->nlocal; ++i) {
            const int64_t id = d->id[i];
            for (int k = 0; k < 3; ++k) {
                d->x[3 * i + k] = x[3 * id + k];
                d->v[3 * i + k] = v[3 * id + k];
                d->image[3 * i + k] = img[3 * id + k];
            }
        }
        rc = domain_forward(d);
    }
    if (!rc) rc = md_forces(d, &s->pe_local, &s->virial_local);
    if (!rc) {
        s->step = ints[0];
        s->ensemble = (MdEnsemble)ints[1];
        s->nhc.m = (int)ints[2];
        s->nhc.nloop = (int)ints[3];
        s->nhc_chain = (int)ints[4];
    }
    free(x);
    free(xb);
    free(v);
    free(img);
    free(sp);
    return rc;
}
