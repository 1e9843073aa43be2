/*
 * A HotSpot disassembler plugin (hsdis) that hands each compiled method's bytes to binutils' objdump, for reading
 * what C2 makes of the Vector API kernels (scripts/kernel-asm). HotSpot loads a library named hsdis-<arch>.so and
 * calls decode_instructions_virtual with a method's code; this one writes the bytes to a temporary file and prints
 * objdump's Intel-syntax listing of them at their real addresses. objdump decodes every AVX-512 encoding (capstone 4,
 * tried first, left many as ".byte" runs). No per-instruction events: HotSpot's own comments are not interleaved.
 *
 * Build: cc -O2 -shared -fPIC -o hsdis-amd64.so hsdis-objdump.c   (objdump from binutils on the PATH at run time)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef void *(*event_fn)(void *, const char *, void *);
typedef int (*print_fn)(void *, const char *, ...);

void *decode_instructions_virtual(uintptr_t start_va, uintptr_t end_va, unsigned char *buffer, uintptr_t length,
                                  event_fn event, void *event_stream, print_fn print, void *print_stream,
                                  const char *options, int newline) {
    (void) end_va; (void) event; (void) event_stream; (void) options; (void) newline;
    if (print == NULL) {
        print = (print_fn) fprintf;
        if (print_stream == NULL) {
            print_stream = stdout;
        }
    }
    char path[] = "/tmp/hsdis-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        print(print_stream, "hsdis: cannot create a temporary file\n");
        return NULL;
    }
    ssize_t written = write(fd, buffer, length);
    close(fd);
    if (written != (ssize_t) length) {
        unlink(path);
        print(print_stream, "hsdis: cannot write %s\n", path);
        return NULL;
    }
    char command[256];
    snprintf(command, sizeof command, "objdump -D -b binary -m i386:x86-64 -M intel --no-show-raw-insn --adjust-vma=0x%" PRIxPTR " %s",
             start_va, path);
    FILE *listing = popen(command, "r");
    if (listing == NULL) {
        unlink(path);
        print(print_stream, "hsdis: cannot run objdump\n");
        return NULL;
    }
    char line[1024];
    int body = 0; // objdump's header ends at the "<.data>:" label
    while (fgets(line, sizeof line, listing) != NULL) {
        if (body) {
            print(print_stream, "%s", line);
        } else {
            body = strstr(line, "<.data>:") != NULL;
        }
    }
    pclose(listing);
    unlink(path);
    return NULL;
}
