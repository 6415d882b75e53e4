/* Domain test 6: the rebuild trigger fires on every rank exactly when some atom (on any rank)
 * has moved more than skin/2 since the last build; a fresh domain or a list-kind change always
 * asks for a rebuild. */
#include "domain_testutil.h"

static void move_atom(Domain *d, int64_t id, double dx) {
    for (int i = 0; i < d->nlocal; ++i)
        if (d->id[i] == id) d->x[3 * i] = d->x_build[3 * i] + dx;
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    TestSystem s;
    TOK(su_build(&s, MODEL_GLASS, 500, 5));
    Domain *d = NULL;
    TOK(su_distribute(&s, s.x, NULL, DT_SKIN, &d));
    if (!d) return tu_finish();
    TCHECK(domain_check_rebuild(d) == 1, "never built: rebuild");
    TOK(domain_rebuild(d));
    TCHECK(domain_check_rebuild(d) == 0, "fresh list");
    move_atom(d, 7, 0.49 * DT_SKIN);
    TCHECK(domain_check_rebuild(d) == 0, "0.49 skin: no rebuild");
    move_atom(d, 7, -0.499 * DT_SKIN);
    TCHECK(domain_check_rebuild(d) == 0, "-0.499 skin: no rebuild");
    move_atom(d, 7, 0.51 * DT_SKIN);
    TCHECK(domain_check_rebuild(d) == 1, "0.51 skin: rebuild on every rank");
    TOK(domain_rebuild(d));
    TCHECK(domain_check_rebuild(d) == 0, "rebuilt");
    TCHECK(d->nbuilds == 2, "two builds, got %lld", (long long)d->nbuilds);
    /* Many small moves below skin/2 on all atoms: still no rebuild. */
    su_displace_owned(d, 3, 0, 0.499 * DT_SKIN);
    TCHECK(domain_check_rebuild(d) == 0, "all below skin/2");
    domain_set_full_list(d, 1);
    TCHECK(domain_check_rebuild(d) == 1, "list kind change asks for a rebuild");
    TOK(domain_rebuild(d));
    TCHECK(domain_check_rebuild(d) == 0, "rebuilt with the full list");
    domain_destroy(&d);
    su_free(&s);
    return tu_finish();
}
