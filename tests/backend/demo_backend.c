/* demo_backend.c — skeleton. */
int main(void) { return 0; }
