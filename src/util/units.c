/* units.c — skeleton. */
