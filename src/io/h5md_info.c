/* `basin info FILE.h5`: what an HDF5 / H5MD file holds, printed by rank 0.
 *
 * Rank 0 alone opens the file, with HDF5's default (serial) driver: a summary needs no
 * parallel I/O, and reading on one rank keeps the output in one piece and lets the function
 * work on any file, whoever wrote it (basin, MDAnalysis, LAMMPS, GROMACS). The other ranks only
 * join the final error agreement. Frames are counted as the readers do: the smallest length of
 * an element's value and step (a killed writer may leave longer datasets than flushed frames).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <hdf5.h>

#include "basin/h5md.h"
#include "basin/util.h"
#include "h5md_priv.h"

enum { TEXT = 512, MAX_SEEN = 4096 };

static void dtype_name(hid_t t, char *buf, size_t n) {
    const H5T_class_t c = H5Tget_class(t);
    const size_t sz = H5Tget_size(t);
    switch (c) {
    case H5T_INTEGER:
        snprintf(buf, n, "%sint%zu", H5Tget_sign(t) == H5T_SGN_NONE ? "u" : "", 8 * sz);
        break;
    case H5T_FLOAT:
        snprintf(buf, n, "float%zu", 8 * sz);
        break;
    case H5T_STRING:
        if (H5Tis_variable_str(t) > 0)
            snprintf(buf, n, "string (variable length)");
        else
            snprintf(buf, n, "string[%zu]", sz);
        break;
    case H5T_ENUM:
        snprintf(buf, n, "enum");
        break;
    case H5T_COMPOUND:
        snprintf(buf, n, "compound");
        break;
    case H5T_REFERENCE:
        snprintf(buf, n, "reference");
        break;
    default:
        snprintf(buf, n, "other");
        break;
    }
}

/* Reads an attribute or a dataset (is_attr) of strings, integers or floats as text,
 * "[a, b, c]" for arrays (at most 16 elements shown). */
static void value_text(hid_t obj, int is_attr, char *buf, size_t n) {
    buf[0] = '\0';
    hid_t t = is_attr ? H5Aget_type(obj) : H5Dget_type(obj);
    hid_t sp = is_attr ? H5Aget_space(obj) : H5Dget_space(obj);
    const hssize_t np = H5Sget_simple_extent_npoints(sp);
    const int arr = H5Sget_simple_extent_ndims(sp) > 0;
    const H5T_class_t c = H5Tget_class(t);
    size_t k = 0;
    if (np <= 0 || np > 4096) {
        snprintf(buf, n, "(%lld elements)", (long long)np);
    } else if (c == H5T_STRING) {
        const int vl = H5Tis_variable_str(t) > 0;
        hid_t mt = H5Tcopy(H5T_C_S1);
        const size_t sz = vl ? sizeof(char *) : H5Tget_size(t) + 1;
        H5Tset_size(mt, vl ? H5T_VARIABLE : sz);
        /* HDF5 does not convert between character sets: read in the file's. */
        H5Tset_cset(mt, H5Tget_cset(t));
        char *raw = calloc((size_t)np, sz);
        herr_t st = raw ? (is_attr ? H5Aread(obj, mt, raw)
                                   : H5Dread(obj, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw))
                        : -1;
        for (hssize_t i = 0; st >= 0 && i < np && i < 16 && k + 1 < n; ++i) {
            const char *s = vl ? ((char **)raw)[i] : raw + (size_t)i * sz;
            k += (size_t)snprintf(buf + k, n - k, "%s%s", i ? ", " : arr ? "[" : "", s ? s : "");
        }
        if (arr && k + 1 < n) snprintf(buf + k, n - k, "%s]", np > 16 ? ", ..." : "");
        if (st >= 0 && vl) {
#if H5_VERSION_GE(1, 12, 0)
            H5Treclaim(mt, sp, H5P_DEFAULT, raw);
#else
            H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, raw);
#endif
        }
        free(raw);
        H5Tclose(mt);
    } else if (c == H5T_INTEGER || c == H5T_FLOAT) {
        double *d = calloc((size_t)np, sizeof *d);
        long long *l = calloc((size_t)np, sizeof *l);
        const int isint = c == H5T_INTEGER;
        herr_t st = -1;
        if (d && l)
            st = is_attr ? H5Aread(obj, isint ? H5T_NATIVE_LLONG : H5T_NATIVE_DOUBLE,
                                   isint ? (void *)l : (void *)d)
                         : H5Dread(obj, isint ? H5T_NATIVE_LLONG : H5T_NATIVE_DOUBLE, H5S_ALL,
                                   H5S_ALL, H5P_DEFAULT, isint ? (void *)l : (void *)d);
        for (hssize_t i = 0; st >= 0 && i < np && i < 16 && k + 1 < n; ++i) {
            const char *pre = i ? ", " : arr ? "[" : "";
            if (isint)
                k += (size_t)snprintf(buf + k, n - k, "%s%lld", pre, l[i]);
            else
                k += (size_t)snprintf(buf + k, n - k, "%s%.10g", pre, d[i]);
        }
        if (arr && k + 1 < n) snprintf(buf + k, n - k, "%s]", np > 16 ? ", ..." : "");
        free(d);
        free(l);
    } else {
        char tn[64];
        dtype_name(t, tn, sizeof tn);
        snprintf(buf, n, "(%s)", tn);
    }
    H5Sclose(sp);
    H5Tclose(t);
}

static void attr_text(hid_t loc, const char *obj, const char *name, char *buf, size_t n) {
    buf[0] = '\0';
    if (!h5x_path_exists(loc, obj) || H5Aexists_by_name(loc, obj, name, H5P_DEFAULT) <= 0) return;
    hid_t a = H5Aopen_by_name(loc, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) return;
    value_text(a, 1, buf, n);
    H5Aclose(a);
}

/* dims of a dataset at path; returns the rank or -1. */
static int shape_of(hid_t f, const char *path, hsize_t *dims) {
    if (h5x_obj_type(f, path) != H5O_TYPE_DATASET) return -1;
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    if (d < 0) return -1;
    hid_t s = H5Dget_space(d);
    int nd = H5Sget_simple_extent_ndims(s);
    H5Sget_simple_extent_dims(s, dims, NULL);
    H5Sclose(s);
    H5Dclose(d);
    return nd;
}

/* One element of a 1-D dataset as double (or the scalar itself); NaN on failure. */
static double elem_at(hid_t f, const char *path, hsize_t i) {
    double v = NAN;
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    if (d < 0) return v;
    hid_t fs = H5Dget_space(d);
    const hsize_t one = 1;
    hid_t ms = H5Screate_simple(1, &one, NULL);
    if (H5Sget_simple_extent_ndims(fs) == 1)
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, &i, NULL, &one, NULL);
    if (H5Dread(d, H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, &v) < 0) v = NAN;
    H5Sclose(ms);
    H5Sclose(fs);
    H5Dclose(d);
    return v;
}

static void print_particles_group(hid_t f, const char *name) {
    char base[300], path[MAX_PATH], txt[TEXT];
    hsize_t dims[H5S_MAX_RANK];
    snprintf(base, sizeof base, "/particles/%.255s", name);
    static const char *const per_atom[] = {"position", "velocity", "force"};
    const char *first = NULL;
    long long natoms = -1, frames = -1;
    for (int e = 0; e < 3; ++e) {
        snprintf(path, sizeof path, "%s/%s/value", base, per_atom[e]);
        const int nd = shape_of(f, path, dims);
        if (nd < 2) continue;
        if (!first) {
            first = per_atom[e];
            natoms = (long long)dims[1];
        }
        frames = frames < 0 || (long long)dims[0] < frames ? (long long)dims[0] : frames;
        snprintf(path, sizeof path, "%s/%s/step", base, per_atom[e]);
        if (shape_of(f, path, dims) == 1 && (long long)dims[0] < frames)
            frames = (long long)dims[0];
    }
    printf("%s:", base);
    if (!first) {
        printf(" no position, velocity or force element\n");
    } else {
        printf(" N = %lld, %lld frame%s", natoms, frames, frames == 1 ? "" : "s");
        if (frames > 0) {
            snprintf(path, sizeof path, "%s/%s/step", base, first);
            int nd = shape_of(f, path, dims);
            if (nd == 1)
                printf(", steps %.0f .. %.0f", elem_at(f, path, 0),
                       elem_at(f, path, (hsize_t)frames - 1));
            else if (nd == 0)
                printf(", every %.0f steps", elem_at(f, path, 0));
            snprintf(path, sizeof path, "%s/%s/time", base, first);
            nd = shape_of(f, path, dims);
            if (nd == 1)
                printf(", time %.10g .. %.10g", elem_at(f, path, 0),
                       elem_at(f, path, (hsize_t)frames - 1));
        }
        printf("\n");
    }

    snprintf(path, sizeof path, "%s/box", base);
    if (h5x_obj_type(f, path) == H5O_TYPE_GROUP) {
        char bd[TEXT];
        attr_text(f, path, "dimension", txt, sizeof txt);
        attr_text(f, path, "boundary", bd, sizeof bd);
        printf("  box: dimension %s, boundary %s", txt[0] ? txt : "?", bd[0] ? bd : "?");
        snprintf(path, sizeof path, "%s/box/edges", base);
        const int et = h5x_obj_type(f, path);
        if (et >= 0) {
            const int td = et == H5O_TYPE_GROUP;
            snprintf(path, sizeof path, "%s/box/edges%s", base, td ? "/value" : "");
            const int nd = shape_of(f, path, dims);
            double e[9] = {NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN};
            const int inner = nd - td;
            hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
            if (d >= 0 && (!td || dims[0] > 0)) {
                hid_t fs = H5Dget_space(d);
                hsize_t start[3] = {0, 0, 0}, cnt[3] = {1, 3, 3};
                if (td) {
                    cnt[1] = 3;
                    cnt[2] = inner == 2 ? 3 : 1;
                    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL);
                }
                const hsize_t ne = inner == 2 ? 9 : 3;
                hid_t ms = H5Screate_simple(1, &ne, NULL);
                if (inner == 1 || inner == 2) H5Dread(d, H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, e);
                H5Sclose(ms);
                H5Sclose(fs);
            }
            if (d >= 0) H5Dclose(d);
            const double L[3] = {e[0], inner == 2 ? e[4] : e[1], inner == 2 ? e[8] : e[2]};
            printf(", edges %s%s, %s%.10g x %.10g x %.10g", td ? "time-dependent " : "fixed ",
                   inner == 2 ? "[3][3]" : "[3]", td ? "first frame " : "", L[0], L[1], L[2]);
            if (inner == 2 &&
                (e[1] != 0 || e[2] != 0 || e[3] != 0 || e[5] != 0 || e[6] != 0 || e[7] != 0))
                printf(" (triclinic)");
        }
        printf("\n");
    } else {
        printf("  box: missing (required by H5MD)\n");
    }

    /* the elements of the group and whether they change with time */
    hid_t g = H5Gopen2(f, base, H5P_DEFAULT);
    H5G_info_t gi;
    if (g >= 0 && H5Gget_info(g, &gi) >= 0) {
        printf("  elements:");
        for (hsize_t i = 0; i < gi.nlinks; ++i) {
            char el[256] = "";
            H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, el, sizeof el, H5P_DEFAULT);
            snprintf(path, sizeof path, "%s/%.255s", base, el);
            const int ty = h5x_obj_type(f, path);
            printf(" %s%s", el, ty == H5O_TYPE_DATASET ? " (fixed)" : "");
            if (i + 1 < gi.nlinks) printf(",");
        }
        printf("\n");
    }
    if (g >= 0) H5Gclose(g);
}

static void print_observables(hid_t f) {
    hid_t g = H5Gopen2(f, "/observables", H5P_DEFAULT);
    H5G_info_t gi;
    if (g < 0 || H5Gget_info(g, &gi) < 0) {
        if (g >= 0) H5Gclose(g);
        return;
    }
    printf("/observables:");
    for (hsize_t i = 0; i < gi.nlinks; ++i) {
        char name[256] = "", path[MAX_PATH];
        hsize_t dims[H5S_MAX_RANK];
        H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT);
        snprintf(path, sizeof path, "/observables/%s/value", name);
        const int nd = shape_of(f, path, dims);
        if (nd >= 1)
            printf(" %s [%llu]", name, (unsigned long long)dims[0]);
        else
            printf(" %s", name);
        if (i + 1 < gi.nlinks) printf(",");
    }
    printf("\n");
    H5Gclose(g);
}

static void print_parameters(hid_t f) {
    if (h5x_obj_type(f, "/parameters") != H5O_TYPE_GROUP) return;
    hid_t g = H5Gopen2(f, "/parameters", H5P_DEFAULT);
#if H5_VERSION_GE(1, 12, 0)
    H5O_info2_t oi;
    const herr_t st = H5Oget_info3(g, &oi, H5O_INFO_NUM_ATTRS);
#else
    H5O_info_t oi;
    const herr_t st = H5Oget_info2(g, &oi, H5O_INFO_NUM_ATTRS);
#endif
    const hsize_t nattrs = oi.num_attrs;
    printf("/parameters:\n");
    for (hsize_t i = 0; st >= 0 && i < nattrs; ++i) {
        hid_t a = H5Aopen_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, H5P_DEFAULT, H5P_DEFAULT);
        if (a < 0) continue;
        char name[256] = "", txt[2048];
        H5Aget_name(a, sizeof name, name);
        value_text(a, 1, txt, sizeof txt);
        printf("  %s = %s\n", name, txt);
        H5Aclose(a);
    }
    H5Gclose(g);
}

/* A basin checkpoint (src/io/checkpoint.c): format, ranks, step and stage, and the stored
 * config (a char array there). Rank 0, best effort: missing pieces are skipped. */
static void print_checkpoint(hid_t f) {
    int fmt = -1, np = -1;
    hid_t a = H5Aopen(f, "basin_checkpoint_format", H5P_DEFAULT);
    if (a >= 0) {
        H5Aread(a, H5T_NATIVE_INT, &fmt);
        H5Aclose(a);
    }
    if (H5Aexists(f, "nranks") > 0 && (a = H5Aopen(f, "nranks", H5P_DEFAULT)) >= 0) {
        H5Aread(a, H5T_NATIVE_INT, &np);
        H5Aclose(a);
    }
    printf("basin checkpoint (format %d), written on %d rank(s)\n", fmt, np);
    static const char *const stage[3] = {"liquid", "equilibration", "nve"};
    int64_t ints[4] = {-1, -1, -1, -1};
    if (h5x_obj_type(f, "/meta/ints") == H5O_TYPE_DATASET) {
        hid_t d = H5Dopen2(f, "/meta/ints", H5P_DEFAULT);
        if (H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, ints) >= 0)
            printf("N = %lld, MD step %lld, stage %s (began at step %lld)\n", (long long)ints[0],
                   (long long)ints[3], ints[1] >= 0 && ints[1] < 3 ? stage[ints[1]] : "?",
                   (long long)ints[2]);
        H5Dclose(d);
    }
    if (h5x_obj_type(f, "/meta/config") == H5O_TYPE_DATASET) {
        hid_t d = H5Dopen2(f, "/meta/config", H5P_DEFAULT), sp = H5Dget_space(d);
        hsize_t n = 0;
        if (H5Sget_simple_extent_ndims(sp) == 1) H5Sget_simple_extent_dims(sp, &n, NULL);
        char *buf = n > 0 ? calloc(n + 1, 1) : NULL;
        if (buf && H5Dread(d, H5T_NATIVE_CHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0) {
            printf("config (/meta/config):\n");
            for (char *line = buf; *line;) {
                char *nl = strchr(line, '\n');
                const int len = nl ? (int)(nl - line) : (int)strlen(line);
                printf("  %.*s\n", len, line);
                line += len + (nl ? 1 : 0);
            }
        }
        free(buf);
        H5Sclose(sp);
        H5Dclose(d);
    }
}

/* The stored config text, indented; any string dataset /parameters/config. */
static void print_config(hid_t f) {
    if (h5x_obj_type(f, "/parameters/config") != H5O_TYPE_DATASET) return;
    hid_t d = H5Dopen2(f, "/parameters/config", H5P_DEFAULT);
    hid_t t = H5Dget_type(d);
    if (H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) <= 0) {
        const size_t sz = H5Tget_size(t);
        char *buf = calloc(sz + 1, 1);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, sz + 1);
        H5Tset_cset(mt, H5Tget_cset(t));
        if (buf && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0) {
            printf("config (/parameters/config):\n");
            for (char *line = buf; *line;) {
                char *nl = strchr(line, '\n');
                const int len = nl ? (int)(nl - line) : (int)strlen(line);
                printf("  %.*s\n", len, line);
                line += len + (nl ? 1 : 0);
            }
        }
        H5Tclose(mt);
        free(buf);
    } else {
        char txt[TEXT];
        value_text(d, 0, txt, sizeof txt);
        printf("config (/parameters/config): %s\n", txt);
    }
    H5Tclose(t);
    H5Dclose(d);
}

/* Every dataset with dtype and shape; a second path to an object already listed is shown as a
 * hard link (how H5MD shares step/time between elements). */
typedef struct Seen {
    int n;
    char key[MAX_SEEN][32];
    char *path[MAX_SEEN];
    const char *prefix; /* the group being visited, "" for the root */
} Seen;

static herr_t visit_cb(hid_t g, const char *name, const H5L_info_t *info, void *data) {
    Seen *s = data;
    char path[MAX_PATH];
    snprintf(path, sizeof path, "%s/%s", s->prefix, name);
    if (info->type == H5L_TYPE_SOFT || info->type == H5L_TYPE_EXTERNAL) {
        printf("  %-44s link (%s)\n", path, info->type == H5L_TYPE_SOFT ? "soft" : "external");
        return 0;
    }
    char key[32];
    if (h5x_obj_key(g, path, key, sizeof key) < 0) return 0;
    for (int i = 0; i < s->n; ++i)
        if (strcmp(s->key[i], key) == 0) {
            /* the same path again: position's subtree is listed before the rest */
            if (strcmp(s->path[i], path) != 0)
                printf("  %-44s hard link to %s\n", path, s->path[i]);
            return 0;
        }
    if (s->n < MAX_SEEN) {
        snprintf(s->key[s->n], sizeof s->key[s->n], "%s", key);
        s->path[s->n++] = strdup(path);
    }
    if (h5x_obj_type(g, path) != H5O_TYPE_DATASET) return 0;
    hid_t d = H5Dopen2(g, path, H5P_DEFAULT);
    if (d < 0) return 0;
    hid_t t = H5Dget_type(d), sp = H5Dget_space(d), pl = H5Dget_create_plist(d);
    char tn[64], sh[128], ch[128] = "";
    hsize_t dims[H5S_MAX_RANK], maxd[H5S_MAX_RANK];
    const int nd = H5Sget_simple_extent_ndims(sp);
    H5Sget_simple_extent_dims(sp, dims, maxd);
    dtype_name(t, tn, sizeof tn);
    h5x_fmt_dims(sh, sizeof sh, nd, dims);
    if (H5Pget_layout(pl) == H5D_CHUNKED) {
        hsize_t cd[H5S_MAX_RANK];
        const int cn = H5Pget_chunk(pl, H5S_MAX_RANK, cd);
        char c[100];
        h5x_fmt_dims(c, sizeof c, cn, cd);
        snprintf(ch, sizeof ch, ", chunks %s%s", c,
                 nd > 0 && maxd[0] == H5S_UNLIMITED ? ", extendible" : "");
    }
    printf("  %-44s %s %s%s\n", path, tn, sh, ch);
    H5Pclose(pl);
    H5Sclose(sp);
    H5Tclose(t);
    H5Dclose(d);
    return 0;
}

static int print_file(const char *path) {
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return h5x_fail(path, NULL, "cannot open (truncated or corrupt HDF5 file?)");
    struct stat st;
    stat(path, &st);
    printf("%s: HDF5 file, %lld bytes\n", path, (long long)st.st_size);

    char ver[TEXT] = "", cn[TEXT], cv[TEXT], au[TEXT];
    if (h5x_obj_type(f, "/h5md") == H5O_TYPE_GROUP) {
        int v[2] = {-1, -1};
        hid_t a = H5I_INVALID_HID;
        if (H5Aexists_by_name(f, "/h5md", "version", H5P_DEFAULT) > 0)
            a = H5Aopen_by_name(f, "/h5md", "version", H5P_DEFAULT, H5P_DEFAULT);
        if (a >= 0) {
            hid_t sp = H5Aget_space(a);
            if (H5Sget_simple_extent_npoints(sp) == 2 && H5Aread(a, H5T_NATIVE_INT, v) >= 0)
                snprintf(ver, sizeof ver, "%d.%d", v[0], v[1]);
            H5Sclose(sp);
            H5Aclose(a);
        }
        attr_text(f, "/h5md/creator", "name", cn, sizeof cn);
        attr_text(f, "/h5md/creator", "version", cv, sizeof cv);
        attr_text(f, "/h5md/author", "name", au, sizeof au);
        printf("H5MD version %s, creator %s %s, author %s\n", ver[0] ? ver : "?", cn[0] ? cn : "?",
               cv[0] ? cv : "?", au[0] ? au : "?");
    } else if (H5Aexists(f, "basin_checkpoint_format") > 0) {
        print_checkpoint(f);
    } else {
        printf("no /h5md group: not an H5MD file\n");
    }

    if (h5x_obj_type(f, "/particles") == H5O_TYPE_GROUP) {
        hid_t g = H5Gopen2(f, "/particles", H5P_DEFAULT);
        H5G_info_t gi;
        if (g >= 0 && H5Gget_info(g, &gi) >= 0)
            for (hsize_t i = 0; i < gi.nlinks; ++i) {
                char name[256] = "";
                H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name,
                                   H5P_DEFAULT);
                print_particles_group(f, name);
            }
        if (g >= 0) H5Gclose(g);
    }
    print_observables(f);
    print_parameters(f);

    printf("datasets:\n");
    Seen *s = calloc(1, sizeof *s);
    int rc = 0;
    if (!s) {
        rc = basin_error(BASIN_ERR_NOMEM, path, NULL, "no memory for the object list");
    } else {
        /* Position first, then /particles, then the rest: shared step/time are listed under
         * the element that owns them and the others show as hard links to it. */
        H5G_info_t gi;
        hid_t pg = h5x_obj_type(f, "/particles") == H5O_TYPE_GROUP
                       ? H5Gopen2(f, "/particles", H5P_DEFAULT)
                       : H5I_INVALID_HID;
        if (pg >= 0 && H5Gget_info(pg, &gi) >= 0)
            for (hsize_t i = 0; i < gi.nlinks; ++i) {
                char name[256] = "", top[300];
                H5Lget_name_by_idx(pg, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name,
                                   H5P_DEFAULT);
                snprintf(top, sizeof top, "/particles/%s/position", name);
                if (h5x_obj_type(f, top) != H5O_TYPE_GROUP) continue;
                s->prefix = top;
                H5Lvisit_by_name(f, top, H5_INDEX_NAME, H5_ITER_INC, visit_cb, s, H5P_DEFAULT);
            }
        if (pg >= 0) H5Gclose(pg);
        hid_t root = H5Gopen2(f, "/", H5P_DEFAULT);
        if (root < 0 || H5Gget_info(root, &gi) < 0) rc = h5x_fail(path, NULL, "cannot list /");
        for (int pass = 0; pass < 2 && !rc; ++pass)
            for (hsize_t i = 0; i < gi.nlinks && !rc; ++i) {
                char name[256] = "", top[260];
                H5Lget_name_by_idx(root, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name,
                                   H5P_DEFAULT);
                if ((strcmp(name, "particles") == 0) != (pass == 0)) continue;
                snprintf(top, sizeof top, "/%s", name);
                H5L_info_t li;
                if (H5Lget_info(root, name, &li, H5P_DEFAULT) < 0) continue;
                s->prefix = "";
                visit_cb(root, name, &li, s);
                if (h5x_obj_type(f, top) != H5O_TYPE_GROUP) continue;
                s->prefix = top;
                if (H5Lvisit_by_name(f, top, H5_INDEX_NAME, H5_ITER_INC, visit_cb, s, H5P_DEFAULT) <
                    0)
                    rc = h5x_fail(path, top, "cannot list the objects");
            }
        if (root >= 0) H5Gclose(root);
        for (int i = 0; i < s->n; ++i)
            free(s->path[i]);
        free(s);
    }
    print_config(f);
    fflush(stdout);
    if (H5Fclose(f) < 0 && !rc) rc = h5x_fail(path, NULL, "close");
    return rc;
}

int h5md_info(const char *path) {
    int rc = 0;
    if (par_rank() == 0) {
        H5xQuiet q;
        h5x_quiet_on(&q);
        rc = h5x_precheck_file(path);
        if (!rc) rc = print_file(path);
        h5x_quiet_off(&q);
    }
    return basin_error_agree(rc);
}
