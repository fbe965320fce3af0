/* access_log.c — skeleton. */
