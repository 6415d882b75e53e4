/* io/xyz: the extended XYZ writer and reader. A write/read round trip is bit-exact (thirds,
 * subnormals, -0.0, extreme exponents and image counters), frames append and are picked by
 * index, line 2 is exactly what OVITO and ASE parse, and every kind of bad file gives one error
 * line naming the file and the line. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basin/model.h"
#include "basin/util.h"
#include "basin/xyz.h"
#include "sysutil.h"
#include "testutil.h"

/* Line `k` (1-based) of a file, without its newline, on rank 0 ("" elsewhere or if missing). */
static void read_line_of(const char *path, int k, char *out, size_t n) {
    out[0] = '\0';
    if (par_rank() != 0) return;
    FILE *fp = fopen(path, "r");
    if (!fp) return;
    for (int i = 1; i <= k && fgets(out, (int)n, fp); ++i)
        ;
    fclose(fp);
    out[strcspn(out, "\n")] = '\0';
}

static int file_exists(const char *path) {
    return access(path, F_OK) == 0;
}

static void check_same(const XyzData *d, const XyzFrame *f, const char *what) {
    const size_t n = (size_t)f->n;
    TCHECK(d->n == f->n, "%s: n %lld != %lld", what, (long long)d->n, (long long)f->n);
    if (d->n != f->n) return;
    TCHECK(memcmp(&d->L, &f->L, sizeof f->L) == 0, "%s: L %.17g != %.17g", what, d->L, f->L);
    TCHECK(memcmp(d->x, f->x, 3 * n * sizeof(double)) == 0, "%s: positions differ", what);
    TCHECK(memcmp(d->species, f->species, n * sizeof(int)) == 0, "%s: species differ", what);
    TCHECK((d->v == NULL) == (f->v == NULL), "%s: velocities present %d, expected %d", what,
           d->v != NULL, f->v != NULL);
    if (d->v && f->v)
        TCHECK(memcmp(d->v, f->v, 3 * n * sizeof(double)) == 0, "%s: velocities differ", what);
    if (f->image) {
        TCHECK(memcmp(d->image, f->image, 3 * n * sizeof(int32_t)) == 0, "%s: images differ", what);
    } else {
        int64_t nonzero = 0;
        for (size_t i = 0; i < 3 * n; ++i)
            nonzero += d->image[i] != 0;
        TCHECK(nonzero == 0, "%s: %lld nonzero images for a frame written without", what,
               (long long)nonzero);
    }
    TCHECK(d->step == (f->step >= 0 ? f->step : -1), "%s: step %lld", what, (long long)d->step);
    if (f->step >= 0)
        TCHECK(memcmp(&d->time, &f->time, sizeof f->time) == 0, "%s: time %.17g != %.17g", what,
               d->time, f->time);
    else
        TCHECK(isnan(d->time), "%s: time %g for a frame without Time", what, d->time);
}

static void test_round_trip(void) {
    TrickyArrays t;
    TOK(su_tricky_arrays(&t, 777, 11, 5, 9));
    char path[300];
    su_path_in_tmp(path, sizeof path, "rt.xyz");

    XyzFrame f = {t.n, t.L, 123456789012LL, 0.1 * 3.0, t.x, t.v, t.sp, t.im};
    TOK(xyz_write(path, &f, 0));
    XyzData d;
    int64_t nf = -1;
    TOK(xyz_read(path, -1, &d, &nf));
    TCHECK(nf == 1 && d.ntypes == 2, "nframes %lld ntypes %d", (long long)nf, d.ntypes);
    check_same(&d, &f, "velocities, images, step");
    TCHECK(d.v && signbit(d.v[0]), "-0.0 lost its sign");
    xyz_free(&d);

    /* without velocities, images, step and time; one type only */
    for (int64_t i = 0; i < t.n; ++i)
        t.sp[i] = 0;
    XyzFrame g = {t.n, t.L, -1, 0.0, t.x, NULL, t.sp, NULL};
    TOK(xyz_write(path, &g, 0));
    TOK(xyz_read(path, 0, &d, NULL));
    TCHECK(d.ntypes == 1, "ntypes %d for species all 0", d.ntypes);
    check_same(&d, &g, "positions only");
    xyz_free(&d);
    TCHECK(!file_exists("xyz_test_tmp_never"), "sanity");

    su_tricky_free(&t);
}

/* Line 1 and 2 as OVITO and ASE parse them, and the atom line layout. */
static void test_layout(void) {
    char path[300], line[512], want[512];
    su_path_in_tmp(path, sizeof path, "layout.xyz");
    const double x[6] = {0.5, 1.0 / 3.0, 2.0, 1e-300, 2.5, 0.0};
    const double v[6] = {-0.0, 1.0, 2.0, 3.0, 4.0, 5.0};
    const int sp[2] = {1, 0};
    const int32_t im[6] = {0, -1, 2, 3, 0, 0};
    XyzFrame f = {2, 2.75, 7, 0.035, x, v, sp, im};
    TOK(xyz_write(path, &f, 0));
    read_line_of(path, 1, line, sizeof line);
    if (par_rank() == 0) TCHECK(!strcmp(line, "2"), "line 1 '%s'", line);
    read_line_of(path, 2, line, sizeof line);
    snprintf(want, sizeof want,
             "Lattice=\"2.75 0 0 0 2.75 0 0 0 2.75\" "
             "Properties=species:S:1:pos:R:3:velo:R:3:map_shift:I:3:id:I:1 Time=%.17g Step=7 "
             "pbc=\"T T T\"",
             0.035);
    if (par_rank() == 0) TCHECK(!strcmp(line, want), "line 2 '%s', expected '%s'", line, want);
    read_line_of(path, 3, line, sizeof line);
    snprintf(want, sizeof want, "2 0.5 %.17g 2 -0 1 2 0 -1 2 1", 1.0 / 3.0);
    if (par_rank() == 0) TCHECK(!strcmp(line, want), "atom 1 '%s', expected '%s'", line, want);
    read_line_of(path, 4, line, sizeof line);
    if (par_rank() == 0) TCHECK(!strcmp(line, "1 1e-300 2.5 0 3 4 5 3 0 0 2"), "atom 2 '%s'", line);

    XyzFrame g = {2, 2.75, -1, 0.0, x, NULL, sp, NULL};
    TOK(xyz_write(path, &g, 0));
    read_line_of(path, 2, line, sizeof line);
    if (par_rank() == 0)
        TCHECK(!strcmp(line, "Lattice=\"2.75 0 0 0 2.75 0 0 0 2.75\" "
                             "Properties=species:S:1:pos:R:3:map_shift:I:3:id:I:1 pbc=\"T T T\""),
               "line 2 without velocities, step: '%s'", line);
}

/* Frames appended one by one and through one writer; picked by index, the last by default. */
static void test_frames(void) {
    char path[300];
    su_path_in_tmp(path, sizeof path, "frames.xyz");
    enum { N = 5 };
    double x[3 * N];
    int sp[N];
    for (int i = 0; i < 3 * N; ++i)
        x[i] = 0.25 * i;
    for (int i = 0; i < N; ++i)
        sp[i] = i % 2;
    for (int k = 0; k < 3; ++k) {
        x[0] = k; /* tells the frames apart */
        XyzFrame f = {N, 4.0, 100 * k, 0.5 * k, x, NULL, sp, NULL};
        TOK(xyz_write(path, &f, k > 0));
    }
    XyzData d;
    int64_t nf = 0;
    TOK(xyz_read(path, 1, &d, &nf));
    TCHECK(nf == 3 && d.n == N && d.x[0] == 1.0 && d.step == 100 && d.time == 0.5,
           "frame 1 of 3: nf %lld x0 %g step %lld", (long long)nf, d.x ? d.x[0] : -1.0,
           (long long)d.step);
    xyz_free(&d);
    TOK(xyz_read(path, -1, &d, &nf));
    TCHECK(d.n == N && d.x[0] == 2.0 && d.step == 200, "last frame");
    xyz_free(&d);
    int rc = xyz_read(path, 3, &d, &nf);
    TCHECK(rc == BASIN_ERR_CONFIG && strstr(basin_error_message(), "frame 3 out of range") &&
               strstr(basin_error_message(), "3 frame(s)"),
           "frame 3 of 3: rc %d '%s'", rc, basin_error_message());
    TCHECK(d.x == NULL && d.n == 0, "memory left after an error");
    basin_error_clear();

    /* the writer handle: frames with velocities in one file */
    XyzWriter *w = NULL;
    double v[3 * N] = {0};
    TOK(xyz_writer_open(path, 0, &w));
    for (int k = 0; k < 4; ++k) {
        v[1] = k;
        XyzFrame f = {N, 4.0, k, 0.005 * k, x, v, sp, NULL};
        TOK(xyz_writer_frame(w, &f));
    }
    TOK(xyz_writer_close(&w));
    TCHECK(w == NULL, "close did not clear the handle");
    TOK(xyz_read(path, 2, &d, &nf));
    TCHECK(nf == 4 && d.v && d.v[1] == 2.0 && d.step == 2, "writer frame 2 of 4");
    xyz_free(&d);
}

/* The writer checks before writing and leaves nothing under the final name. */
static void test_write_refused(void) {
    char path[300];
    su_path_in_tmp(path, sizeof path, "refused.xyz");
    double x[6] = {0, 0, 0, 1, 1, NAN};
    int sp[2] = {0, 1};
    XyzFrame f = {2, 3.0, -1, 0.0, x, NULL, sp, NULL};
    int rc = xyz_write(path, &f, 0);
    TCHECK(rc == BASIN_ERR_PHYSICS && strstr(basin_error_message(), "atom 1 has a non-finite"),
           "NaN position: rc %d '%s'", rc, basin_error_message());
    x[5] = 1.0;
    sp[1] = MODEL_MAX_SPECIES;
    rc = xyz_write(path, &f, 0);
    TCHECK(rc == BASIN_ERR_CONFIG && strstr(basin_error_message(), "species"),
           "species out of range: rc %d '%s'", rc, basin_error_message());
    sp[1] = 1;
    f.L = 0.0;
    rc = xyz_write(path, &f, 0);
    TCHECK(rc == BASIN_ERR_CONFIG && strstr(basin_error_message(), "box edge"), "L = 0: rc %d '%s'",
           rc, basin_error_message());
    /* a full disk shows when the buffered frame is flushed: reported once, by close */
    f.L = 3.0;
    if (access("/dev/full", W_OK) == 0) {
        rc = xyz_write("/dev/full", &f, 1);
        TCHECK(rc == BASIN_ERR_IO && strstr(basin_error_message(), "write failed (disk full?)"),
               "/dev/full: rc %d '%s'", rc, basin_error_message());
    }
    char tmp[320];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (par_rank() == 0)
        TCHECK(!file_exists(path) && !file_exists(tmp), "a refused frame left a file behind");
    basin_error_clear();
}

typedef struct BadCase {
    const char *name;
    const char *text;
    const char *expect; /* substring of the error line */
} BadCase;

#define L2 "Lattice=\"3 0 0 0 3 0 0 0 3\" Properties=species:S:1:pos:R:3:map_shift:I:3:id:I:1"
#define A1 "1 0 0 0 0 0 0 1\n"
#define A2 "2 1 1 1 0 0 0 2\n"

static void test_bad_files(void) {
    static const BadCase cases[] = {
        {"empty", "", ": no frames (empty file)"},
        {"count", "two\n" L2 "\n" A1, ":line 1: expected the atom count of frame 0"},
        {"count 0", "0\n" L2 "\n", ":line 1: expected the atom count"},
        {"no comment", "2\n", ":line 1: file ends after the atom count of frame 0"},
        {"truncated", "2\n" L2 "\n" A1, ":line 3: file ends after 1 of 2 atom lines of frame 0"},
        {"cut line", "2\n" L2 "\n" A1 "2 1 1", ":line 4: the last line is not terminated"},
        {"2nd frame truncated", "2\n" L2 "\n" A1 A2 "2\n" L2 "\n" A1,
         ":line 7: file ends after 1 of 2 atom lines of frame 1"},
        {"no lattice", "2\nProperties=species:S:1:pos:R:3:map_shift:I:3:id:I:1\n" A1 A2,
         ":line 2: no Lattice="},
        {"no properties", "2\nLattice=\"3 0 0 0 3 0 0 0 3\"\n" A1 A2, ":line 2: no Properties="},
        {"tilted",
         "2\nLattice=\"3 0 0 1 3 0 0 0 3\" Properties=species:S:1:pos:R:3:map_shift:I:3:"
         "id:I:1\n" A1 A2,
         ":line 2: Lattice=\"3 0 0 1 3 0 0 0 3\": basin reads cubic boxes only"},
        {"other columns",
         "2\nLattice=\"3 0 0 0 3 0 0 0 3\" Properties=species:S:1:pos:R:3\n"
         "A 0 0 0\nB 1 1 1\n",
         ":line 2: Properties=species:S:1:pos:R:3: basin reads the columns it writes"},
        {"pbc", "2\n" L2 " pbc=\"T F T\"\n" A1 A2, ":line 2: pbc=\"T F T\""},
        {"origin", "2\n" L2 " Origin=\"-1.5 -1.5 -1.5\"\n" A1 A2, ":line 2: Origin="},
        {"quote", "2\n" L2 " pbc=\"T T T\n" A1 A2, ":line 2: unterminated quote"},
        {"step", "2\n" L2 " Step=1.5\n" A1 A2, ":line 2: Step=1.5 is not an integer"},
        {"fields", "2\n" L2 "\n" A1 "2 1 1 1 0 0 2\n",
         ":line 4: atom line has 7 fields, expected 8"},
        {"species", "2\n" L2 "\n" A1 "B 1 1 1 0 0 0 2\n",
         ":line 4: species 'B' is not an atom type"},
        {"type 3", "2\n" L2 "\n" A1 "3 1 1 1 0 0 0 2\n", ":line 4: species '3'"},
        {"duplicate id", "2\n" L2 "\n" A1 "2 1 1 1 0 0 0 1\n",
         ":line 4: duplicate atom id 1 (first on line 3)"},
        {"id range", "2\n" L2 "\n" A1 "2 1 1 1 0 0 0 3\n",
         ":line 4: atom id '3' is not an integer in 1..2"},
        {"coordinate", "2\n" L2 "\n" A1 "2 1 inf 1 0 0 0 2\n", ":line 4: coordinate 'inf'"},
        {"image", "2\n" L2 "\n" A1 "2 1 1 1 0 4294967296 0 2\n", ":line 4: map_shift '4294967296'"},
        {"blank between frames", "2\n" L2 "\n" A1 A2 "\n2\n" L2 "\n" A1 A2,
         ":line 6: a blank line precedes this line"},
    };
    char path[300];
    su_path_in_tmp(path, sizeof path, "bad.xyz");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
        su_write_text(path, cases[c].text);
        XyzData d;
        int rc = xyz_read(path, -1, &d, NULL);
        const char *msg = basin_error_message();
        TCHECK(rc == BASIN_ERR_IO && strstr(msg, cases[c].expect) &&
                   !strncmp(msg, path, strlen(path)),
               "%s: rc %d, message '%s', expected '%s'", cases[c].name, rc, msg, cases[c].expect);
        TCHECK(d.x == NULL && d.v == NULL, "%s: memory left after an error", cases[c].name);
        basin_error_clear();
    }

    /* accepted: CRLF line ends, trailing blank lines, unknown keys, atoms in any id order */
    su_write_text(path, "2\r\n" L2 " Time=1.5 Step=3 comment=\"made by hand\" flag\r\n"
                        "2 1 1 1 0 0 -2 2\r\n" A1 "\n\n");
    XyzData d;
    TOK(xyz_read(path, 0, &d, NULL));
    TCHECK(d.n == 2 && d.step == 3 && d.time == 1.5 && d.L == 3.0 && d.species[1] == 1 &&
               d.x[3] == 1.0 && d.image[5] == -2 && d.v == NULL,
           "hand-made file read wrongly");
    xyz_free(&d);

    int rc = xyz_read("no/such/file.xyz", -1, &d, NULL);
    TCHECK(rc == BASIN_ERR_IO && strstr(basin_error_message(), "no/such/file.xyz: cannot open"),
           "missing file: '%s'", basin_error_message());
    basin_error_clear();
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    su_make_tmpdir("xyz_test");
    test_round_trip();
    test_layout();
    test_frames();
    test_write_refused();
    test_bad_files();
    su_remove_tmpdir();
    return tu_finish();
}
