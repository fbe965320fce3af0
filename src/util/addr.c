/* addr.c — skeleton. */
