/* MPI start-up, the launch sanity check and the communicator-free reductions of util.h.
 * Physics modules reduce through these wrappers so that they never include <mpi.h>
 * (STYLE.md habit 1); the communicator can be swapped by tests (par_push_comm). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "basin/util.h"
#include "parallel.h"

enum { COMM_STACK = 8 };
static MPI_Comm comm_stack[COMM_STACK];
static int comm_top = -1;
static MPI_Comm comm_owned = MPI_COMM_NULL;

MPI_Comm par_comm(void) {
    return comm_top >= 0 ? comm_stack[comm_top] : MPI_COMM_WORLD;
}

void par_push_comm(MPI_Comm c) {
    if (comm_top + 1 >= COMM_STACK)
        basin_abort_local(BASIN_ERR_INTERNAL, "par_push_comm: communicator stack overflow");
    comm_stack[++comm_top] = c;
}

void par_pop_comm(void) {
    if (comm_top > 0) --comm_top;
}

int basin_check_launch(const char *slurm_ntasks, int world_size) {
    if (!slurm_ntasks || !*slurm_ntasks) return 0;
    char *end = NULL;
    long ntasks = strtol(slurm_ntasks, &end, 10);
    if (end == slurm_ntasks || ntasks <= 1 || world_size > 1) return 0;
    return basin_error(BASIN_ERR_MPI, "launch", "SLURM_NTASKS",
                       "SLURM_NTASKS=%ld but MPI started 1 rank: srun launched independent "
                       "singletons (no PMI). Use `srun --mpi=pmix` (see `srun --mpi=list`) or "
                       "`mpirun` inside the allocation",
                       ntasks);
}

int basin_init(int *argc, char ***argv) {
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return basin_error(BASIN_ERR_MPI, NULL, NULL, "MPI_Init failed");
    MPI_Comm_dup(MPI_COMM_WORLD, &comm_owned);
    /* Errors return codes instead of aborting, so that basin can print its own one-line message. */
    MPI_Comm_set_errhandler(comm_owned, MPI_ERRORS_RETURN);
    comm_top = -1;
    par_push_comm(comm_owned);
    int size = 1;
    MPI_Comm_size(comm_owned, &size);
    /* Every rank reads the same environment, so the decision is collective without a message. */
    return basin_check_launch(getenv("SLURM_NTASKS"), size);
}

void basin_finalize(void) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized) return;
    fflush(stdout);
    fflush(stderr);
    if (comm_owned != MPI_COMM_NULL) MPI_Comm_free(&comm_owned);
    comm_top = -1;
    MPI_Finalize();
}

int par_rank(void) {
    int initialized = 0, finalized = 0, r = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (!initialized || finalized) return 0;
    MPI_Comm_rank(par_comm(), &r);
    return r;
}

int par_size(void) {
    int s = 1;
    MPI_Comm_size(par_comm(), &s);
    return s;
}

void par_sum_d(double *buf, int n) {
    MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, MPI_SUM, par_comm());
}
void par_max_d(double *buf, int n) {
    MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, MPI_MAX, par_comm());
}
void par_min_d(double *buf, int n) {
    MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, MPI_MIN, par_comm());
}
void par_sum_i64(int64_t *buf, int n) {
    MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_INT64_T, MPI_SUM, par_comm());
}
void par_max_i(int *buf, int n) {
    MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_INT, MPI_MAX, par_comm());
}
void par_bcast_d(double *buf, int n, int root) {
    MPI_Bcast(buf, n, MPI_DOUBLE, root, par_comm());
}
void par_barrier(void) {
    MPI_Barrier(par_comm());
}
double par_wtime(void) {
    return MPI_Wtime();
}
