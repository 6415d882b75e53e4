/* Subcommands of the `basin` program that live in their own files. Each returns 0 or a
 * BASIN_ERR_* code with the message recorded; all are collective. */
#ifndef BASIN_APP_H
#define BASIN_APP_H

int app_cmd_eval(int argc, char **argv);

#endif
