/*
 * A stand-in for libcublasLt.so.N: the library cuBLAS needs beside it. The per-major emulator copies
 * (sets/cudaN) name it in DT_NEEDED as the real cuBLAS does, so tests can see which copy the loader
 * bound: the one beside cuBLAS, or another found first on LD_LIBRARY_PATH.
 */
#include <stddef.h>

#ifndef BLEMU_LT_MAJOR
#define BLEMU_LT_MAJOR 13
#endif

__attribute__((visibility("default"))) size_t cublasLtGetVersion(void)
{
    return (size_t)BLEMU_LT_MAJOR * 10000;
}
