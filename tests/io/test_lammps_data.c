/* io/lammps_data: bit-exact write/read round trip (with and without velocities and image
 * flags), reading the forms LAMMPS writes (shifted origin, no image flags, coefficient
 * sections, comments), and one clear error per kind of bad file, identical on every rank. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basin/lammps_data.h"
#include "basin/model.h"
#include "basin/util.h"
#include "sysutil.h"
#include "testutil.h"

static void test_round_trip(void) {
    TrickyArrays t;
    TOK(su_tricky_arrays(&t, 1001, 7, 7, 11));
    const int64_t n = t.n;
    char path[300];
    su_path_in_tmp(path, sizeof path, "rt.data");
    TOK(lammps_data_write(path, "round trip\nsecond line dropped", n, 2, t.L, t.x, t.v, t.sp,
                          t.im));
    LammpsData d;
    TOK(lammps_data_read(path, &d));
    TCHECK(d.n == n && d.ntypes == 2 && d.has_image, "header n=%lld ntypes=%d", (long long)d.n,
           d.ntypes);
    TCHECK(memcmp(&d.L, &t.L, sizeof t.L) == 0, "L %.17g != %.17g", d.L, t.L);
    if (d.n == n && d.v) {
        TCHECK(memcmp(d.x, t.x, sizeof(double) * 3 * (size_t)n) == 0, "positions differ");
        TCHECK(memcmp(d.v, t.v, sizeof(double) * 3 * (size_t)n) == 0, "velocities differ");
        TCHECK(memcmp(d.species, t.sp, sizeof(int) * (size_t)n) == 0, "species differ");
        TCHECK(memcmp(d.image, t.im, sizeof(int32_t) * 3 * (size_t)n) == 0, "images differ");
        TCHECK(signbit(d.v[0]), "-0.0 lost its sign");
    } else {
        TCHECK(0, "no velocities read back");
    }
    lammps_data_free(&d);

    /* without velocities or image flags: no Velocities section, zero images */
    TOK(lammps_data_write(path, NULL, n, 2, t.L, t.x, NULL, t.sp, NULL));
    TOK(lammps_data_read(path, &d));
    TCHECK(d.v == NULL, "velocities appeared");
    int64_t nonzero = 0;
    for (int64_t i = 0; i < 3 * d.n; ++i)
        nonzero += d.image[i] != 0;
    TCHECK(nonzero == 0, "%lld nonzero image counters", (long long)nonzero);
    TCHECK(d.n == n && memcmp(d.x, t.x, sizeof(double) * 3 * (size_t)n) == 0, "positions differ");
    lammps_data_free(&d);

    /* a real glass from the builder, one species type count of the crystal */
    Model m;
    model_init(&m, MODEL_GLASS);
    double Lg;
    TOK(model_build_glass(&m, 500, 1.015, 3, 0.8, t.x, t.sp, &Lg));
    TOK(lammps_data_write(path, NULL, 500, 2, Lg, t.x, NULL, t.sp, NULL));
    TOK(lammps_data_read(path, &d));
    TCHECK(d.n == 500 && memcmp(d.x, t.x, sizeof(double) * 1500) == 0 && d.L == Lg,
           "glass round trip");
    lammps_data_free(&d);

    su_tricky_free(&t);
}

/* What LAMMPS's write_data produces: origin off zero, no Velocities, Pair Coeffs, comments. */
static void test_lammps_forms(void) {
    char path[300];
    su_path_in_tmp(path, sizeof path, "lmp.data");
    su_write_text(path, "LAMMPS data file via write_data, version 29 Sep 2021, timestep = 100\n"
                        "\n"
                        "3 atoms\n"
                        "2 atom types\n"
                        "\n"
                        "-5.0000000000000000e+00 5.0000000000000000e+00 xlo xhi\n"
                        "-5 5 ylo yhi  # a comment\n"
                        "-5 5 zlo zhi\n"
                        "0 0 0 xy xz yz\n"
                        "0 bonds\n"
                        "\n"
                        "Masses\n"
                        "\n"
                        "1 1\n"
                        "2 1.0\n"
                        "\n"
                        "Pair Coeffs # lj/cut\n"
                        "\n"
                        "1 1 1\n"
                        "2 1 1.4\n"
                        "\n"
                        "Atoms # atomic\n"
                        "\n"
                        "3 2 4.5 -4.5 0 1 0 -1\n"
                        "1 1 -5 0.25 1e-3 0 0 0\n"
                        "2 1 0 0 0 0 2 0\n"
                        "\n"
                        "Velocities\n"
                        "\n"
                        "2 0.5 0 0\n"
                        "1 0 -0.5 0\n"
                        "3 0 0 0.125\n");
    LammpsData d;
    TOK(lammps_data_read(path, &d));
    TCHECK(d.n == 3 && d.L == 10.0 && d.ntypes == 2, "header");
    if (d.n == 3 && d.v) {
        TCHECK(d.x[0] == 0.0 && d.x[1] == 5.25 && d.x[2] == 5.001, "atom 1 at %g %g %g", d.x[0],
               d.x[1], d.x[2]);
        TCHECK(d.x[6] == 9.5 && d.x[7] == 0.5 && d.x[8] == 5.0, "atom 3 shifted by -lo");
        TCHECK(d.species[0] == 0 && d.species[2] == 1, "types -> species");
        TCHECK(d.image[4] == 2 && d.image[6] == 1 && d.image[8] == -1, "image flags");
        TCHECK(d.v[3] == 0.5 && d.v[1] == -0.5 && d.v[8] == 0.125, "velocities by id");
    } else {
        TCHECK(0, "file not read");
    }
    lammps_data_free(&d);

    /* no image flags, no Masses, "Atoms" without a style comment, CRLF line ends */
    su_write_text(path, "title\r\n\r\n2 atoms\r\n1 atom types\r\n0 3 xlo xhi\r\n0 3 ylo yhi\r\n"
                        "0 3 zlo zhi\r\n\r\nAtoms\r\n\r\n2 1 1 1 1\r\n1 1 2 2 2\r\n");
    TOK(lammps_data_read(path, &d));
    TCHECK(d.n == 2 && !d.has_image && d.v == NULL && d.x[0] == 2.0 && d.x[3] == 1.0,
           "minimal file");
    lammps_data_free(&d);
}

typedef struct BadCase {
    const char *name;
    const char *text; /* NULL: the file does not exist */
    const char *expect;
} BadCase;

#define HDR3 "t\n\n3 atoms\n2 atom types\n0 4 xlo xhi\n0 4 ylo yhi\n0 4 zlo zhi\n\n"
#define ATOMS3 "Atoms # atomic\n\n1 1 0 0 0\n2 2 1 1 1\n3 1 2 2 2\n"

static const BadCase bad_cases[] = {
    {"missing", NULL, "cannot open LAMMPS data file"},
    {"empty", "", "empty file"},
    {"header only", HDR3, "line 8: no Atoms section"},
    {"no atoms count", "t\n\n2 atom types\n0 4 xlo xhi\n0 4 ylo yhi\n0 4 zlo zhi\n\n" ATOMS3,
     "line 8: header has no 'N atoms' line"},
    {"no zlo", "t\n\n3 atoms\n2 atom types\n0 4 xlo xhi\n0 4 ylo yhi\n\n" ATOMS3,
     "header has no 'zlo zhi' line"},
    {"non-cubic", "t\n\n3 atoms\n2 atom types\n0 4 xlo xhi\n0 4 ylo yhi\n0 5 zlo zhi\n\n" ATOMS3,
     "box is not cubic"},
    {"tilted", HDR3 "0.5 0 0 xy xz yz\n\n" ATOMS3, "line 9: tilted (triclinic) box"},
    {"empty box", "t\n\n3 atoms\n2 atom types\n4 4 xlo xhi\n", "line 5: empty box"},
    {"too many types", "t\n\n3 atoms\n3 atom types\n", "line 4: 3 atom types: basin supports 1..2"},
    {"bonds", HDR3 "2 bonds\n\n" ATOMS3, "line 9: 2 bonds: basin reads atomic systems only"},
    {"garbage header", HDR3 "3 widgets\n\n" ATOMS3, "unrecognised header line '3 widgets'"},
    {"truncated atoms", HDR3 "Atoms # atomic\n\n1 1 0 0 0\n2 2 1 1 1\n",
     "line 12: file ends after 2 of 3 atom lines of the Atoms section (truncated file?)"},
    {"truncated mid-line", HDR3 "Atoms # atomic\n\n1 1 0 0 0\n2 2 1 1 1\n3 1 2 2",
     "line 13: Atoms line has 4 fields, expected 5"},
    {"short atoms", HDR3 "Atoms # atomic\n\n1 1 0 0 0\n2 2 1 1 1\n\nVelocities\n\n1 0 0 0\n",
     "line 14: Atoms section has 2 atom lines but the header says 3 atoms"},
    {"long atoms", HDR3 ATOMS3 "4 1 3 3 3\n",
     "line 14: Atoms section has more than 3 atom lines (the header says 3 atoms)"},
    {"field count", HDR3 "Atoms # atomic\n\n1 1 0 0 0\n2 2 1 1 1 0\n3 1 2 2 2\n",
     "line 12: Atoms line has 6 fields, expected 5"},
    {"mixed images", HDR3 "Atoms # atomic\n\n1 1 0 0 0 0 0 0\n2 2 1 1 1\n3 1 2 2 2\n",
     "line 12: Atoms line has 5 fields but earlier lines have 8"},
    {"duplicate id", HDR3 "Atoms # atomic\n\n1 1 0 0 0\n2 2 1 1 1\n2 1 2 2 2\n",
     "line 13: duplicate atom id 2 in the Atoms section (first on line 12)"},
    {"id range", HDR3 "Atoms # atomic\n\n1 1 0 0 0\n4 2 1 1 1\n3 1 2 2 2\n",
     "line 12: atom id 4 outside 1..3"},
    {"id zero", HDR3 "Atoms # atomic\n\n0 1 0 0 0\n2 2 1 1 1\n3 1 2 2 2\n",
     "line 11: atom id 0 outside 1..3"},
    {"type range", HDR3 "Atoms # atomic\n\n1 1 0 0 0\n2 3 1 1 1\n3 1 2 2 2\n",
     "line 12: atom type 3 outside 1..2"},
    {"type zero", HDR3 "Atoms # atomic\n\n1 0 0 0 0\n2 2 1 1 1\n3 1 2 2 2\n",
     "line 11: atom type 0 outside 1..2"},
    {"bad number", HDR3 "Atoms # atomic\n\n1 1 0 0 0\n2 2 1 1x 1\n3 1 2 2 2\n",
     "line 12: coordinate '1x' is not a finite number"},
    {"nan", HDR3 "Atoms # atomic\n\n1 1 0 0 nan\n2 2 1 1 1\n3 1 2 2 2\n",
     "line 11: coordinate 'nan' is not a finite number"},
    {"atom style", HDR3 "Atoms # full\n\n1 1 1 0 0 0 0\n", "line 9: atom style 'full'"},
    {"mass", HDR3 "Masses\n\n1 1\n2 2.0\n\n" ATOMS3, "line 12: mass of type 2 is 2"},
    {"masses short", HDR3 "Masses\n\n1 1\n\n" ATOMS3,
     "line 13: Masses section has 1 mass lines but the header says 2 atom types"},
    {"velocity truncated", HDR3 ATOMS3 "\nVelocities\n\n1 0 0 0\n",
     "line 17: file ends after 1 of 3 velocity lines"},
    {"velocity duplicate", HDR3 ATOMS3 "\nVelocities\n\n1 0 0 0\n1 0 0 0\n3 0 0 0\n",
     "line 18: duplicate atom id 1 in the Velocities section (first on line 17)"},
    {"velocity fields", HDR3 ATOMS3 "\nVelocities\n\n1 0 0\n",
     "line 17: Velocities line has 3 fields, expected 4"},
    {"second atoms", HDR3 ATOMS3 "\n" ATOMS3, "line 15: second Atoms section"},
    {"bonds section", HDR3 ATOMS3 "\nBonds\n\n1 1 1 2\n", "section 'Bonds' is not supported"},
    {"only masses", HDR3 "Masses\n\n1 1\n2 1\n", "no Atoms section"},
};

static void test_bad_files(void) {
    const int ncases = (int)(sizeof bad_cases / sizeof bad_cases[0]);
    for (int c = 0; c < ncases; ++c) {
        char path[300], name[32];
        snprintf(name, sizeof name, "bad%02d.data", c);
        su_path_in_tmp(path, sizeof path, name);
        if (bad_cases[c].text) su_write_text(path, bad_cases[c].text);
        basin_error_clear();
        LammpsData d;
        int rc = lammps_data_read(path, &d);
        const char *msg = basin_error_message();
        TCHECK(rc == BASIN_ERR_IO, "case '%s': rc %d (%s)", bad_cases[c].name, rc, msg);
        TCHECK(strstr(msg, bad_cases[c].expect) != NULL, "case '%s': message '%s' lacks '%s'",
               bad_cases[c].name, msg, bad_cases[c].expect);
        TCHECK(strncmp(msg, path, strlen(path)) == 0,
               "case '%s': message '%s' does not start "
               "with the file name",
               bad_cases[c].name, msg);
        TCHECK(d.x == NULL && d.v == NULL && d.species == NULL && d.image == NULL,
               "case '%s': memory left in the result", bad_cases[c].name);
        if (par_rank() == 0 && getenv("TEST_VERBOSE")) printf("%-20s %s\n", bad_cases[c].name, msg);
    }
}

static void test_write_errors(void) {
    double x[6] = {0, 0, 0, 1, 1, 1};
    int sp[2] = {0, 2};
    char path[300];
    su_path_in_tmp(path, sizeof path, "no/such/dir/out.data");
    int rc = lammps_data_write(path, NULL, 2, 2, 3.0, x, NULL, (int[2]){0, 1}, NULL);
    TCHECK(rc == BASIN_ERR_IO && strstr(basin_error_message(), "cannot create"),
           "missing directory: rc %d '%s'", rc, basin_error_message());
    su_path_in_tmp(path, sizeof path, "w.data");
    rc = lammps_data_write(path, NULL, 2, 2, 3.0, x, NULL, sp, NULL);
    TCHECK(rc == BASIN_ERR_CONFIG && strstr(basin_error_message(), "species 2"),
           "bad species: rc %d '%s'", rc, basin_error_message());
    x[4] = NAN;
    rc = lammps_data_write(path, NULL, 2, 2, 3.0, x, NULL, (int[2]){0, 1}, NULL);
    TCHECK(rc == BASIN_ERR_PHYSICS && strstr(basin_error_message(), "atom 1 has a non-finite"),
           "NaN: rc %d '%s'", rc, basin_error_message());
    TCHECK(access(path, F_OK) != 0, "a file was left behind after a refused write");
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    su_make_tmpdir("lammps_data_test");
    test_round_trip();
    test_lammps_forms();
    test_bad_files();
    test_write_errors();
    su_remove_tmpdir();
    return tu_finish();
}
