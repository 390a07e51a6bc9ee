/* report.h -- the report operations (PROTOCOL.md 6.13): compliance per
   period, health, overdue questions and streaks, for the whole organisation
   or one branch at the hub, and for a node's branches at the node. Every
   report is paged (page.h) and judged at an instant (`at`, default now). */
#ifndef REPORT_H_INCLUDED
#define REPORT_H_INCLUDED

#include "op.h"

/* The handlers of report.compliance, report.health, report.questions and
   report.streaks: bound by hub and node alike. */
extern const op_t report_ops [];

void report_test (bool verbose);

#endif
