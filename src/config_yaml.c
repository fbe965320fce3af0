/* config_yaml.c — skeleton. */
