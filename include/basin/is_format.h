/* is_format: the layout of the inherent-structure table in <output.dir>/is.h5
 * (docs/formats.md "is.h5"). The writer (minimize/is_file.c, the in-situ tracker of
 * `basin run`) and the reader (analysis/rearr_run.c, `basin rearr`) both take the group,
 * column and attribute names from here, so the two cannot drift apart.
 *
 * The columns are one row per quench; every value is written as a double or an int64 as the
 * column's type says (h5md_table_*). Adding a column: append it before IS_NCOLS (readers
 * refer to columns by name, so older files without it stay readable by code that does not ask
 * for it) and document it in docs/formats.md.
 */
#ifndef BASIN_IS_FORMAT_H
#define BASIN_IS_FORMAT_H

#include "basin/h5md.h"

#define IS_TABLE_GROUP "/inherent"
/* table attributes: the tracker's settings that a reader needs to interpret the rows */
#define IS_ATTR_EVENT_THRESHOLD "event_threshold"
#define IS_ATTR_EVERY "every"
#define IS_ATTR_FMAX_TOL "fmax_tol"
#define IS_ATTR_FNORM_TOL "fnorm_tol"

typedef enum IsColumnId {
    IS_COL_STEP,
    IS_COL_TIME,
    IS_COL_INDEX,
    IS_COL_PHI,
    IS_COL_DR,
    IS_COL_DPHI,
    IS_COL_NREARR,
    IS_COL_DRMAX,
    IS_COL_DRMAX_ID,
    IS_COL_DR0,
    IS_COL_DPHI0,
    IS_COL_EVENT,
    IS_COL_CONVERGED,
    IS_COL_ITER,
    IS_COL_EVALS,
    IS_COL_FMAX,
    IS_COL_FNORM,
    IS_COL_SECONDS,
    IS_COL_FRAME,
    IS_COL_SD_DR,
    IS_COL_SD_EVENT,
    IS_COL_SD_EVALS,
    IS_NCOLS
} IsColumnId;

/* name, type and description of every column, indexed by IsColumnId */
extern const H5mdColumn is_columns[IS_NCOLS];

#endif
