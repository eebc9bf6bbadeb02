/* What writing machine code into read-execute pages costs on this kernel, per sealed region,
 * for the ways src/memory.rs could seal (benches/README.md, twenty-first session).
 *
 *     cc -O2 -o /tmp/seal_costs benches/seal_costs.c && /tmp/seal_costs [bytes per region]
 *
 * Each way writes 4,096 regions of the given size (default 3,700 bytes, the compile bench's
 * average code object) one after another into fresh pages of one mapping, as a process's
 * compiles do, and prints the thread CPU time per region:
 *
 *   open+pwrite+close  what cpjit did until session 35: /proc/self/mem opened for each seal,
 *                      written, closed
 *   kept descriptor    the same with /proc/self/mem opened once (cpjit may not: the program
 *                      would see the descriptor, COMPATIBILITY.md)
 *   mprotect pair      cpjit's old fallback: the pages made read-write, copied, made
 *                      read-execute
 *   page-granular      what cpjit does since session 35: each region on pages of its own that
 *                      were never executable, written while read-write, then one mprotect
 *                      (the rest of its pages is padding)
 *
 * Figures in a real process are about twice these (cold kernel paths): see the README. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define REGIONS 4096

static double thread_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void write_all(int fd, const char *buf, size_t len, char *dst)
{
    if (pwrite(fd, buf, len, (off_t)(size_t)dst) != (ssize_t)len) {
        perror("pwrite /proc/self/mem");
        exit(1);
    }
}

int main(int argc, char **argv)
{
    size_t size = argc > 1 ? strtoul(argv[1], NULL, 10) : 3700;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char *buf = malloc(size);
    memset(buf, 0xcc, size);
    const char *names[] = {"open+pwrite+close", "kept descriptor", "mprotect pair",
                           "page-granular"};
    for (int way = 0; way < 4; way++) {
        size_t stride = way == 3 ? (size + page - 1) / page * page : (size + 63) / 64 * 64;
        size_t total = stride * REGIONS + page;
        int prot = way == 3 ? PROT_READ | PROT_WRITE : PROT_READ | PROT_EXEC;
        char *map = mmap(NULL, total, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (map == MAP_FAILED) {
            perror("mmap");
            return 1;
        }
        int kept = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
        double start = thread_seconds();
        for (size_t i = 0; i < REGIONS; i++) {
            char *dst = map + i * stride;
            char *first = (char *)((size_t)dst & ~(page - 1));
            char *end = (char *)(((size_t)dst + size + page - 1) & ~(page - 1));
            if (way == 0) {
                int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
                write_all(fd, buf, size, dst);
                close(fd);
            }
            else if (way == 1) {
                write_all(kept, buf, size, dst);
            }
            else if (way == 2) {
                mprotect(first, end - first, PROT_READ | PROT_WRITE);
                memcpy(dst, buf, size);
                mprotect(first, end - first, PROT_READ | PROT_EXEC);
            }
            else {
                memcpy(dst, buf, size);
                mprotect(first, end - first, PROT_READ | PROT_EXEC);
            }
        }
        double per = (thread_seconds() - start) / REGIONS;
        printf("%-18s %6.2f us per region of %zu bytes\n", names[way], per * 1e6, size);
        close(kept);
        munmap(map, total);
    }
    free(buf);
    return 0;
}
