#include "harness.h"
int main(int argc, char **argv) { g_test_init(&argc, &argv, NULL); return tb_test_run(); }
