/* Subcommands of the `basin` program that live in their own files. Each returns 0 or a
 * BASIN_ERR_* code with the message recorded; all are collective. */
#ifndef BASIN_APP_H
#define BASIN_APP_H

int app_cmd_eval(int argc, char **argv);

/* `basin rearr RUN_DIR` (rearr.c); its --help text. */
int app_cmd_rearr(int argc, char **argv);
extern const char app_rearr_usage[];
/* `basin convert IN OUT` (convert.c). */
int app_cmd_convert(int argc, char **argv);

#endif
