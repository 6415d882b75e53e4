/* Private to util/ and domain/, app/, io/, harmonic/ (modules that talk MPI): the communicator
 * behind the par_* reductions of basin/util.h. */
#ifndef BASIN_UTIL_PARALLEL_H
#define BASIN_UTIL_PARALLEL_H

#include <mpi.h>

/* The communicator used by par_* (a duplicate of MPI_COMM_WORLD after basin_init). */
MPI_Comm par_comm(void);

/* Temporarily run the par_* reductions on another communicator (e.g. MPI_COMM_SELF, so that a
 * test can compute a one-rank reference inside a multi-rank run). Calls nest; pop restores. */
void par_push_comm(MPI_Comm c);
void par_pop_comm(void);

#endif
