/* Smoke test of libinih as Debian builds it (its options are compiled into the shared library,
 * so these checks pin down what util/config.c can rely on):
 *   - ';' and '#' start comment lines; only ';' after whitespace starts an inline comment;
 *   - an indented line continues the previous value (INI_ALLOW_MULTILINE): the handler is called
 *     again with the same key, so a config reader must reject repeated keys or it silently
 *     loses the indented line's own key;
 *   - a line longer than INI_MAX_LINE (200) is split, the head is passed on truncated and the
 *     tail is a parse error: a non-zero return must be fatal, never a warning;
 *   - the return value is the line of the first error, parsing does not stop there.
 * Every rank parses, as every basin rank parses the config. */
#include <string.h>

#include <ini.h>

#include "testutil.h"

typedef struct Seen {
    int n;
    char section[8][16], name[8][16], value[8][240];
    int stop_at; /* handler reports an error at this call (1-based), 0: never */
} Seen;

static int handler(void *user, const char *section, const char *name, const char *value) {
    Seen *s = user;
    if (s->n < 8) {
        snprintf(s->section[s->n], sizeof s->section[0], "%s", section);
        snprintf(s->name[s->n], sizeof s->name[0], "%s", name);
        snprintf(s->value[s->n], sizeof s->value[0], "%s", value);
    }
    ++s->n;
    return s->stop_at != s->n;
}

static int has(const Seen *s, int k, const char *sec, const char *name, const char *value) {
    return k < s->n && k < 8 && !strcmp(s->section[k], sec) && !strcmp(s->name[k], name) &&
           !strcmp(s->value[k], value);
}

int main(int argc, char **argv) {
    tu_init(&argc, &argv);
    static const char text[] = "# hash comment\n"
                               "; semicolon comment\n"
                               "top = 1\n"
                               "[md]\n"
                               "dt = 0.005   ; inline comment\n"
                               "label = a#b\n"
                               "  steps = 10\n"
                               "[harmonic]\n"
                               "solver=elpa1\n";
    Seen s = {0};
    TCHECK(ini_parse_string(text, handler, &s) == 0, "valid text rejected");
    TCHECK(s.n == 5, "%d handler calls, expected 5", s.n);
    TCHECK(has(&s, 0, "", "top", "1"), "key before any section");
    TCHECK(has(&s, 1, "md", "dt", "0.005"), "inline ';' comment not stripped: '%s'", s.value[1]);
    TCHECK(has(&s, 2, "md", "label", "a#b"), "'#' inside a value: '%s'", s.value[2]);
    TCHECK(has(&s, 3, "md", "label", "steps = 10"), "indented line: [%s] %s = '%s'", s.section[3],
           s.name[3], s.value[3]);
    TCHECK(has(&s, 4, "harmonic", "solver", "elpa1"), "last key");

    /* Errors: the first bad line is reported, later lines are still parsed. */
    Seen e = {0};
    TCHECK(ini_parse_string("a = 1\nno equals sign\n[open\nb = 2\n", handler, &e) == 2,
           "wrong error line");
    TCHECK(e.n == 2 && has(&e, 1, "", "b", "2"), "parsing did not continue after the error");
    Seen h = {.stop_at = 2};
    TCHECK(ini_parse_string("a = 1\nb = 2\nc = 3\n", handler, &h) == 2,
           "a handler error is not reported at its line");

    /* A 300-character value: truncated head, error on the tail. */
    char lng[400];
    memset(lng, 'x', sizeof lng);
    memcpy(lng, "k = ", 4);
    lng[304] = '\0';
    Seen l = {0};
    TCHECK(ini_parse_string(lng, handler, &l) != 0, "overlong line accepted");
    TCHECK(l.n == 1 && strlen(l.value[0]) < 300, "overlong value delivered whole");
    return tu_finish();
}
