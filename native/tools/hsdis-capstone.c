/*
 * A HotSpot disassembler plugin (hsdis) on capstone, for reading what C2 makes of the Vector API kernels
 * (scripts/kernel-asm). HotSpot loads a library named hsdis-<arch>.so and calls decode_instructions_virtual;
 * this one prints each instruction in Intel syntax. Capstone 4 (Debian 12) leaves some EVEX (AVX-512)
 * encodings undecoded as ".byte" runs; the VEX ones and the scalar code around them read fine.
 *
 * Build: cc -O2 -shared -fPIC -o hsdis-amd64.so hsdis-capstone.c -lcapstone   (package libcapstone-dev)
 */
#include <inttypes.h>
#include <stdio.h>
#include <capstone/capstone.h>

typedef void *(*event_fn)(void *, const char *, void *);
typedef int (*print_fn)(void *, const char *, ...);

static void *no_event(void *stream, const char *event, void *arg) {
    (void) stream; (void) event; (void) arg;
    return NULL;
}

void *decode_instructions_virtual(uintptr_t start_va, uintptr_t end_va, unsigned char *buffer, uintptr_t length,
                                  event_fn event, void *event_stream, print_fn print, void *print_stream,
                                  const char *options, int newline) {
    (void) start_va; (void) end_va; (void) options;
    csh handle;
    cs_insn *insn;
    if (print == NULL) {
        print = (print_fn) fprintf;
        if (print_stream == NULL) {
            print_stream = stdout;
        }
    }
    if (event == NULL) {
        event = no_event;
    }
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &handle) != CS_ERR_OK) {
        return NULL;
    }
    cs_option(handle, CS_OPT_SYNTAX, CS_OPT_SYNTAX_INTEL);
    cs_option(handle, CS_OPT_SKIPDATA, CS_OPT_ON);
    size_t n = cs_disasm(handle, buffer, length, (uintptr_t) buffer, 0, &insn);
    for (size_t i = 0; i < n; i++) {
        event(event_stream, "insn", (void *) (uintptr_t) insn[i].address);
        print(print_stream, "%s\t%s", insn[i].mnemonic, insn[i].op_str);
        event(event_stream, "/insn", (void *) (uintptr_t) (insn[i].address + insn[i].size));
        if (newline) {
            print(print_stream, "\n");
        }
    }
    if (n > 0) {
        cs_free(insn, n);
    }
    cs_close(&handle);
    return NULL;
}
