/* The `basin` command: parse the command line, dispatch to a subcommand, report errors in one
 * line and exit with a status that scripts can test. No physics here (DESIGN.md "app"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "basin/h5md.h"
#include "basin/harmonic.h"
#include "basin/config.h"
#include "basin/util.h"
#include "basin_version.h"

#if __has_include("basin/md.h")
#include "basin/md.h"
#define HAVE_MD 1
#endif

typedef struct Command {
    const char *name;
    const char *summary;
    const char *usage; /* full --help text */
    int (*run)(int argc, char **argv);
} Command;

static const char *main_usage =
    "usage: basin [--version] [--help] <command> [options]\n"
    "\n"
    "basin: MPI-parallel engine for the finite-temperature physics of glasses and crystals\n"
    "(MD, inherent structures, rearrangements, normal modes, mode lifetimes).\n"
    "Launch with `mpirun -n P basin ...` or `srun --mpi=pmix basin ...`.\n"
    "\n"
    "commands:\n";

static int usage_error(const char *cmd, const char *what) {
    return basin_error(BASIN_ERR_USAGE, "command line", cmd, "%s (see `basin %s --help`)", what,
                       cmd);
}

static int wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; ++i)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
    return 0;
}

static void print_rank0(const char *s) {
    if (par_rank() == 0) {
        fputs(s, stdout);
        fflush(stdout);
    }
}

/* ---- basin config ---- */
static int cmd_config(int argc, char **argv) {
    const char *file = NULL;
    int dump = 0;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--dump")) {
            dump = 1;
        } else if (!strcmp(argv[i], "--defaults")) {
            file = "";
        } else if (argv[i][0] == '-') {
            return usage_error("config", "unknown option");
        } else if (!file) {
            file = argv[i];
        } else {
            return usage_error("config", "more than one file given");
        }
    }
    if (!file) return usage_error("config", "no configuration file given");
    Config c;
    if (*file) {
        BCHK(config_load(file, &c));
    } else {
        config_defaults(&c);
    }
    (void)dump; /* printing the resolved configuration is the only action of `config` */
    int need = config_dump(&c, NULL, 0) + 1;
    char *buf = NULL;
    BCHK(BALLOC(buf, need));
    config_dump(&c, buf, need);
    print_rank0(buf);
    free(buf);
    return 0;
}

/* ---- basin run ---- */

/* A duration as SLURM writes --time: SECONDS (may be fractional), MM:SS, HH:MM:SS or
 * D-HH:MM:SS. Returns 0 and the seconds, -1 if malformed or not positive. */
static int parse_duration(const char *s, double *out) {
    double parts[3] = {0, 0, 0};
    int np = 0;
    double days = 0.0;
    const char *p = s, *dash = strchr(s, '-');
    char *end = NULL;
    if (dash) {
        days = strtod(s, &end);
        if (end != dash || days < 0) return -1;
        p = dash + 1;
    }
    for (;;) {
        if (np == 3) return -1;
        parts[np++] = strtod(p, &end);
        if (end == p || parts[np - 1] < 0) return -1;
        if (*end == ':') {
            p = end + 1;
            continue;
        }
        if (*end) return -1;
        break;
    }
    double sec = 0.0;
    for (int k = 0; k < np; ++k)
        sec = 60.0 * sec + parts[k];
    if (dash && np == 1) sec *= 3600.0; /* D-HH */
    if (dash && np == 2) sec *= 60.0;   /* D-HH:MM */
    sec += 86400.0 * days;
    if (!(sec > 0.0)) return -1;
    *out = sec;
    return 0;
}

static int cmd_run(int argc, char **argv) {
    const char *file = NULL;
    char cmdline[1024] = "basin";
    for (int i = 0; i < argc; ++i) {
        size_t n = strlen(cmdline);
        snprintf(cmdline + n, sizeof cmdline - n, " %s", argv[i]);
    }
#ifdef HAVE_MD
    MdRunOptions opt;
    md_run_options_default(&opt);
#endif
    int restart_flags = 0;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--quiet")) {
            log_set_level(LOG_WARN);
        } else if (!strcmp(argv[i], "--verbose")) {
            log_set_level(LOG_DEBUG);
#ifdef HAVE_MD
        } else if (!strcmp(argv[i], "--restart") || !strcmp(argv[i], "--fresh")) {
            opt.restart = argv[i][2] == 'r' ? MD_RESTART_REQUIRE : MD_RESTART_NEVER;
            ++restart_flags;
        } else if (!strcmp(argv[i], "--stop-at-step")) {
            char *end = NULL;
            if (i + 1 >= argc || (opt.stop_at_step = strtoll(argv[i + 1], &end, 10)) < 1 || *end)
                return usage_error("run", "--stop-at-step needs a step number >= 1");
            ++i;
        } else if (!strcmp(argv[i], "--walltime")) {
            if (i + 1 >= argc || parse_duration(argv[i + 1], &opt.walltime) != 0)
                return usage_error("run", "--walltime needs a duration: SECONDS, MM:SS, "
                                          "HH:MM:SS or D-HH:MM:SS");
            ++i;
#endif
        } else if (argv[i][0] == '-') {
            return usage_error("run", "unknown option");
        } else if (!file) {
            file = argv[i];
        } else {
            return usage_error("run", "more than one configuration file given");
        }
    }
    if (restart_flags > 1) return usage_error("run", "--restart and --fresh exclude each other");
    Config c;
    if (file) {
        BCHK(config_load(file, &c));
    } else {
        config_defaults(&c);
        log_info("basin run: no configuration file given, using the built-in default "
                 "(`basin config --defaults` prints it)");
    }
    log_info("basin %s, %d MPI rank(s)", BASIN_VERSION, par_size());
    if (log_get_level() >= LOG_INFO) {
        int need = config_dump(&c, NULL, 0) + 1;
        char *buf = NULL;
        BCHK(BALLOC(buf, need));
        config_dump(&c, buf, need);
        log_info("# resolved configuration\n%s# end of configuration", buf);
        free(buf);
    }
#ifdef HAVE_MD
    return md_run(&c, cmdline, &opt);
#else
    return basin_error(BASIN_ERR_INTERNAL, NULL, NULL, "this build has no MD engine");
#endif
}

/* ---- basin info ---- */
static int cmd_info(int argc, char **argv) {
    if (argc != 2 || argv[1][0] == '-') return usage_error("info", "expected exactly one file");
    return h5md_info(argv[1]);
}

/* ---- basin modes ---- */
static int cmd_modes(int argc, char **argv) {
    const char *cfg = NULL, *input = NULL, *out = "modes.h5";
    int64_t frame = -1;
    int kind = -1;
    HarmonicOptions o;
    harmonic_options_default(&o);
    char cmdline[1024] = "basin";
    for (int i = 0; i < argc; ++i) {
        size_t n = strlen(cmdline);
        snprintf(cmdline + n, sizeof cmdline - n, " %s", argv[i]);
    }
    for (int i = 1; i < argc; ++i) {
        int r = harmonic_options_parse_arg(argc, argv, &i, &o);
        if (r < 0) return r;
        if (r == 1) continue;
        if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            cfg = argv[++i];
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(argv[i], "--frame") && i + 1 < argc) {
            char *end = NULL;
            frame = strtoll(argv[++i], &end, 10);
            if (!end || *end) return usage_error("modes", "--frame needs an integer");
        } else if (!strcmp(argv[i], "--kind") && i + 1 < argc) {
            ++i;
            if (!strcmp(argv[i], "glass"))
                kind = MODEL_GLASS;
            else if (!strcmp(argv[i], "crystal"))
                kind = MODEL_CRYSTAL;
            else
                return usage_error("modes", "--kind must be glass or crystal");
        } else if (argv[i][0] == '-') {
            return usage_error("modes", "unknown option or missing value");
        } else if (!input) {
            input = argv[i];
        } else {
            return usage_error("modes", "more than one input given");
        }
    }
    Config c;
    if (cfg) {
        BCHK(config_load(cfg, &c));
    } else {
        config_defaults(&c);
        /* A run directory carries the resolved configuration of its run (the model, the skin,
         * the [inherent] keys of the quench); without it only --kind can say the model. */
        int loaded = 0;
        BCHK(harmonic_modes_input_config(input, &c, &loaded));
        if (loaded < 0 && kind < 0)
            return basin_error(BASIN_ERR_USAGE, input, NULL,
                               "no stored configuration in the run directory (no is.h5 or "
                               "trajectory.h5): give --config or --kind");
    }
    if (kind >= 0) c.kind = (ModelKind)kind;
    return harmonic_modes_run(&c, input, frame, &o, out);
}

static const Command commands[] = {
    {"run", "run the MD protocol of a configuration file (glass or crystal)",
     "usage: basin run [CONFIG.ini] [--restart|--fresh] [--walltime T] [--stop-at-step N]\n"
     "                 [--quiet|--verbose]\n"
     "\n"
     "Build the system, equilibrate (glass: liquid at md.t_liquid, quench, NVT at\n"
     "md.temperature; crystal: NVT at md.temperature), then run NVE production, with\n"
     "in-situ inherent structures when inherent.enabled. Without CONFIG.ini the built-in\n"
     "default (a small glass) runs. Output goes to output.dir: thermo.dat, trajectory.h5,\n"
     "is.h5, checkpoint.h5, final.data (docs/formats.md).\n"
     "\n"
     "Checkpoints: every output.checkpoint_every steps, at the end, and when stopped by\n"
     "SIGTERM or SIGUSR1 (e.g. sbatch --signal=USR1@300), by a file output.dir/basin.stop,\n"
     "by --walltime or --stop-at-step. A stopped run exits with status 75; running the same\n"
     "command again continues it (bitwise on the same rank count).\n"
     "  --restart        continue; error if output.dir has no checkpoint\n"
     "  --fresh          ignore and remove an existing checkpoint, start over\n"
     "                   (default: continue if a checkpoint is there, else start)\n"
     "  --walltime T     stop with a checkpoint before T has passed (SECONDS, MM:SS,\n"
     "                   HH:MM:SS or D-HH:MM:SS, as SLURM --time)\n"
     "  --stop-at-step N checkpoint and stop after MD step N\n"
     "\n"
     "Keys: docs/usage.md. Exit status 0 on success, 75 when stopped with a checkpoint,\n"
     "1 on any error, 2 on a command-line error.\n",
     cmd_run},
    {"config", "validate a configuration file and print it with all defaults",
     "usage: basin config --dump CONFIG.ini\n"
     "       basin config --defaults\n"
     "\n"
     "Reads CONFIG.ini, checks every key (unknown keys, types, ranges, cross-key rules)\n"
     "and prints the fully resolved configuration as INI text that basin reads back.\n"
     "On error prints one line `basin: error: <file>:<section.key>: <what>` and exits 1.\n",
     cmd_config},
    {"modes", "normal modes of an inherent structure: Hessian, ELPA, vDOS, participation ratios",
     "usage: basin modes [INPUT] [--config CONFIG.ini] [--kind glass|crystal] [--frame K]\n"
     "                   [--out modes.h5] [--no-quench] [--fmax F] [solver options]\n"
     "\n"
     "Quenches the input to its inherent structure (inherent.minimizer and inherent.max_iter,\n"
     "to max |F| < --fmax), assembles the 3N x 3N Hessian there straight into a 2D block-cyclic\n"
     "matrix, diagonalises it with ELPA (or ScaLAPACK pdsyevd) and writes omega_k,\n"
     "eigenvectors, participation ratios, the vDOS and the quenched positions to --out\n"
     "(docs/modes.md). The eigenvalues are checked (error \"not a minimum\").\n"
     "INPUT is one of:\n"
     "  RUN_DIR        a directory of `basin run`: RUN_DIR/is.h5 (inherent structures) if\n"
     "                 present, else RUN_DIR/trajectory.h5 (frame K, default the last), else\n"
     "                 RUN_DIR/final.data\n"
     "  FILE.h5        an H5MD trajectory (frame K, default the last)\n"
     "  FILE.data      a LAMMPS data file\n"
     "  (none)         the system of the configuration is built\n"
     "The model kind, the skin and the [inherent] keys come from --config; without it from\n"
     "the configuration stored in RUN_DIR's is.h5 or trajectory.h5 (a RUN_DIR holding only\n"
     "final.data needs --config or --kind), else the built-in configuration. --kind\n"
     "overrides the kind.\n"
     "\n" HARMONIC_OPTIONS_HELP,
     cmd_modes},
    {"info", "what a basin or H5MD file holds (groups, frames, N, time span, config)",
     "usage: basin info FILE.h5\n"
     "\n"
     "Prints the creator, the particle groups, N, the number of frames and their time span,\n"
     "the observables and the configuration stored in /parameters of an H5MD file.\n",
     cmd_info},
    {"eval", "potential energy, pressure and forces of a LAMMPS data file",
     "usage: basin eval FILE.data [--forces OUT] [--kind glass|crystal]\n"
     "\n"
     "Computes the potential energy Phi, the virial W and W/3V, and with --forces the force on\n"
     "every atom (lines `id fx fy fz`, ids as in the file) of the configuration in FILE.data\n"
     "(LAMMPS atomic style, cubic periodic box), with the same kernel as `basin run`.\n"
     "The model is the glass for 2 atom types and the crystal for 1 unless --kind says.\n",
     app_cmd_eval},
    {"rearr", "rearrangement analysis of a run: event catalogue, verdict, event field, MSD",
     app_rearr_usage, app_cmd_rearr},
    {"convert", "convert between LAMMPS data, extended XYZ (OVITO) and H5MD files",
     "usage: basin convert IN OUT [--frame K | --all] [--kind glass|crystal]\n"
     "\n"
     "Converts a configuration between the formats basin reads and writes, chosen by the file\n"
     "extension: .data/.lmp (LAMMPS data, atomic style), .xyz/.extxyz (extended XYZ, for\n"
     "OVITO) and .h5/.h5md (H5MD trajectory). Supported: data->xyz, data->h5 (a one-frame\n"
     "trajectory, species from the atom types), h5->xyz, h5->data, xyz->data.\n"
     "\n"
     "  --frame K   frame K (from 0) of an .h5 or multi-frame .xyz input; default the last\n"
     "  --all       every frame of an .h5 input into one multi-frame .xyz file\n"
     "  --kind K    glass or crystal: the number of atom types written to a data file (2 or\n"
     "              1; default the largest type present), and every atom's type is checked\n"
     "\n"
     "Velocities and periodic images are carried over when the input has them; numbers are\n"
     "written with 17 digits, so data->xyz->data reproduces every number bit for bit. OUT\n"
     "is written under OUT.tmp and renamed when complete; OUT may not be IN.\n"
     "Formats: docs/formats.md. Exit status 0 on success, 1 on any error, 2 on misuse.\n",
     app_cmd_convert},
};
enum { NCOMMANDS = sizeof commands / sizeof commands[0] };

static void print_main_usage(void) {
    if (par_rank() != 0) return;
    fputs(main_usage, stdout);
    for (int i = 0; i < NCOMMANDS; ++i)
        printf("  %-10s %s\n", commands[i].name, commands[i].summary);
    printf("\n`basin <command> --help` describes a command. Documentation: docs/usage.md\n");
    fflush(stdout);
}

static int dispatch(int argc, char **argv) {
    if (argc < 2) {
        print_main_usage();
        return basin_error(BASIN_ERR_USAGE, "command line", NULL, "no command given");
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        if (par_rank() == 0) printf("basin %s\n", BASIN_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        print_main_usage();
        return 0;
    }
    for (int i = 0; i < NCOMMANDS; ++i) {
        if (strcmp(cmd, commands[i].name)) continue;
        if (wants_help(argc - 1, argv + 1)) {
            print_rank0(commands[i].usage);
            return 0;
        }
        return commands[i].run(argc - 1, argv + 1);
    }
    return basin_error(BASIN_ERR_USAGE, "command line", cmd,
                       "unknown command (`basin --help` lists the commands)");
}

int main(int argc, char **argv) {
    int rc = basin_init(&argc, &argv);
    if (rc == 0) rc = dispatch(argc, argv);
#ifdef HAVE_MD
    /* every rank returns MD_RUN_STOPPED together (a collective decision): not an error */
    int status = rc == MD_RUN_STOPPED ? MD_RUN_STOPPED : basin_error_report(rc);
#else
    int status = basin_error_report(rc);
#endif
    basin_finalize();
    return status;
}
