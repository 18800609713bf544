/*
 * targets.c -- the target types of 411-notify.
 */
#include "autoconf.h"

#include <stddef.h>

#include "notify.h"

extern const struct target_ops target_webhook_ops, target_slack_ops,
    target_pagerduty_ops;
extern const struct target_ops target_email_ops, target_jira_ops;

const struct target_ops *const target_types[] = {
	&target_webhook_ops,
	&target_slack_ops,
	&target_pagerduty_ops,
	&target_email_ops,
	&target_jira_ops,
	NULL
};
