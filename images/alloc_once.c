#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MAP_HUGETLB
#define MAP_HUGETLB 0x40000
#endif

int main(int argc, char **argv)
{
    unsigned long size;
    int flags = MAP_PRIVATE | MAP_ANONYMOUS;
    void *p;
    int r;

    if (argc < 2) {
        fprintf(stderr, "usage: %s <size_mb> [huge]\n", argv[0]);
        return 1;
    }
    size = atol(argv[1]) * 1024UL * 1024;
    if (argc >= 3 && strcmp(argv[2], "huge") == 0)
        flags |= MAP_HUGETLB;
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    r = madvise(p, size, MADV_POPULATE_WRITE);
    if (r) {
        perror("madvise");
        return 1;
    }
    munmap(p, size);
    return 0;
}
