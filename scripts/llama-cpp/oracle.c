/*
 * A small driver over llama.cpp's C API (libllama from the pinned npm package @node-llama-cpp/linux-x64),
 * used by the interop tests as an independent oracle and by scripts/bench-llama-cpp as the speed peer.
 *
 *   oracle decode MODEL N THREADS NLOGITS ID...   greedy-decode N tokens after the prompt ids; prints
 *                                                 "logits STEP v..." for the first NLOGITS steps, then
 *                                                 "tokens t...", then "timing prompt_ms P decode_ms D decodes N ... decode_cpu_ms C"
 *   oracle quantize IN OUT FTYPE THREADS          llama_model_quantize with llama.cpp's ftype number
 *   oracle dequantize TYPE IN OUT                 ggml's own to_float for ggml type id TYPE: the raw blocks in
 *                                                 file IN become little-endian float32s in file OUT
 *
 * The package ships no llama.h, so the few declarations below are written from the API of its release
 * (llama.cpp commit 0ad4a86). Parameter structs are only obtained from the *_default_params() functions
 * and passed back whole (as opaque blobs larger than the real structs: both are passed and returned in
 * memory on x86-64, so the callee reads and writes only its own size); the only fields written are
 * llama_context_params.type_k/type_v (offsets 104/108) and llama_model_quantize_params.nthread/ftype
 * (offsets 0/4), checked at run time against their default values.
 *
 * Decode runs with an f32 KV cache (the engine's) unless ORACLE_KV_F16 is set (llama.cpp's default f16 cache);
 * ORACLE_FLASH_ATTN=0|1 sets flash_attn_type (offset 52, default -1 = auto) and ORACLE_LOAD_MODE=n the model's
 * load_mode (offset 24, default -1; 0 reads the file into memory, 1 maps it), both checked or named in the log.
 *
 * The CPU variant of ggml is loaded explicitly: the best-scoring libggml-cpu-*.so in the library folder,
 * leaving out the AMX one (sapphirerapids) unless LLAMA_CPU_VARIANT names it. LLAMA_CPU_VARIANT=name forces one.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct { unsigned char bytes[1024]; } params_blob;
typedef int32_t llama_token;
typedef struct {
    int32_t n_tokens;
    llama_token *token;
    float *embd;
    int32_t *pos;
    int32_t *n_seq_id;
    int32_t **seq_id;
    int8_t *logits;
} llama_batch;

extern void llama_backend_init(void);
extern void llama_log_set(void (*cb)(int level, const char *text, void *user), void *user);
extern params_blob llama_model_default_params(void);
extern params_blob llama_context_default_params(void);
extern params_blob llama_model_quantize_default_params(void);
extern void *llama_model_load_from_file(const char *path, params_blob params);
extern void *llama_init_from_model(void *model, params_blob params);
extern const void *llama_model_get_vocab(const void *model);
extern int32_t llama_vocab_n_tokens(const void *vocab);
extern void llama_set_n_threads(void *ctx, int32_t n_threads, int32_t n_threads_batch);
extern llama_batch llama_batch_get_one(llama_token *tokens, int32_t n_tokens);
extern int32_t llama_decode(void *ctx, llama_batch batch);
extern float *llama_get_logits_ith(void *ctx, int32_t i);
extern void llama_free(void *ctx);
extern void llama_model_free(void *model);
extern uint32_t llama_model_quantize(const char *in, const char *out, const void *params);
extern void *ggml_backend_load(const char *path);

/* ggml.h's struct ggml_type_traits, up to the field used (checked at run time through type_name/blck_size/type_size). */
struct ggml_type_traits {
    const char *type_name;
    int64_t blck_size;
    int64_t blck_size_interleave;
    size_t type_size;
    bool is_quantized;
    void (*to_float)(const void *x, float *y, int64_t k);
};
extern const struct ggml_type_traits *ggml_get_type_traits(int type);

static void quiet(int level, const char *text, void *user) {
    (void) user;
    if (getenv("ORACLE_VERBOSE") || level == 4 /* GGML_LOG_LEVEL_ERROR */) {
        fputs(text, stderr);
    }
}

static double clock_ms(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static double now_ms(void) {
    return clock_ms(CLOCK_MONOTONIC);
}

/* Loads the CPU backend variant (see the file comment); returns 0 on success. */
static int load_cpu_backend(void) {
    Dl_info info;
    if (!dladdr((void *) ggml_backend_load, &info)) {
        fprintf(stderr, "oracle: cannot locate libggml\n");
        return 1;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", info.dli_fname);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0; else snprintf(dir, sizeof dir, ".");
    const char *forced = getenv("LLAMA_CPU_VARIANT");
    char best[4400] = "";
    int best_score = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        const char *prefix = "libggml-cpu-";
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 || !strstr(e->d_name, ".so")) continue;
        char variant[256];
        snprintf(variant, sizeof variant, "%.*s", (int) (strstr(e->d_name, ".so") - e->d_name - strlen(prefix)), e->d_name + strlen(prefix));
        if (forced ? strcmp(forced, variant) != 0 : strcmp(variant, "sapphirerapids") == 0) continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!h) continue;
        int (*score)(void) = (int (*)(void)) dlsym(h, "ggml_backend_score");
        int s = score ? score() : 0;
        if (s > best_score) {
            best_score = s;
            snprintf(best, sizeof best, "%s", path);
        }
    }
    if (d) closedir(d);
    if (!best_score) {
        fprintf(stderr, "oracle: no usable CPU backend variant in %s%s%s\n", dir, forced ? " named " : "", forced ? forced : "");
        return 1;
    }
    if (!ggml_backend_load(best)) {
        fprintf(stderr, "oracle: ggml_backend_load(%s) failed\n", best);
        return 1;
    }
    fprintf(stderr, "oracle: cpu backend %s\n", strrchr(best, '/') + 1);
    return 0;
}

static int argmax(const float *v, int n) {
    int best = 0;
    for (int i = 1; i < n; i++) if (v[i] > v[best]) best = i;
    return best;
}

static int decode(int argc, char **argv) {
    if (argc < 7) {
        fprintf(stderr, "usage: oracle decode MODEL N THREADS NLOGITS ID...\n");
        return 2;
    }
    const char *path = argv[2];
    int n = atoi(argv[3]), threads = atoi(argv[4]), nlogits = atoi(argv[5]);
    int n_prompt = argc - 6;
    llama_token *prompt = calloc(n_prompt, sizeof *prompt);
    for (int i = 0; i < n_prompt; i++) prompt[i] = atoi(argv[6 + i]);

    params_blob mp = llama_model_default_params();
    int32_t *load_mode = (int32_t *) (mp.bytes + 24);
    if (*load_mode != -1) {
        fprintf(stderr, "oracle: llama_model_params layout is not the expected one (load_mode)\n");
        return 1;
    }
    if (getenv("ORACLE_LOAD_MODE")) *load_mode = atoi(getenv("ORACLE_LOAD_MODE"));
    void *model = llama_model_load_from_file(path, mp);
    if (!model) {
        fprintf(stderr, "oracle: llama.cpp could not load %s\n", path);
        return 1;
    }
    params_blob cp = llama_context_default_params();
    int32_t *type_k = (int32_t *) (cp.bytes + 104), *type_v = (int32_t *) (cp.bytes + 108);
    if (*type_k != 1 || *type_v != 1) {
        fprintf(stderr, "oracle: llama_context_params layout is not the expected one (type_k/type_v)\n");
        return 1;
    }
    /* An f32 KV cache, as the engine keeps, unless ORACLE_KV_F16 asks for llama.cpp's default. */
    if (!getenv("ORACLE_KV_F16")) *type_k = *type_v = 0;
    /* Flash attention: llama.cpp's default "auto" (-1) unless ORACLE_FLASH_ATTN=0 or 1. With an f32 cache, flash
     * attention on the CPU casts the whole K and V cache to f16 in every layer for every token. */
    int32_t *flash_attn = (int32_t *) (cp.bytes + 52);
    if (*flash_attn != -1) {
        fprintf(stderr, "oracle: llama_context_params layout is not the expected one (flash_attn_type)\n");
        return 1;
    }
    if (getenv("ORACLE_FLASH_ATTN")) *flash_attn = atoi(getenv("ORACLE_FLASH_ATTN"));
    void *ctx = llama_init_from_model(model, cp);
    if (!ctx) {
        fprintf(stderr, "oracle: llama.cpp could not create a context for %s\n", path);
        return 1;
    }
    llama_set_n_threads(ctx, threads, threads);
    int vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));

    double t0 = now_ms();
    if (llama_decode(ctx, llama_batch_get_one(prompt, n_prompt))) {
        fprintf(stderr, "oracle: llama_decode failed on the prompt\n");
        return 1;
    }
    double t1 = now_ms(), c1 = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
    llama_token *out = calloc(n > 0 ? n : 1, sizeof *out);
    for (int step = 0; step < n; step++) {
        const float *logits = llama_get_logits_ith(ctx, -1);
        if (step < nlogits) {
            printf("logits %d", step);
            for (int i = 0; i < vocab; i++) printf(" %.9g", logits[i]);
            printf("\n");
        }
        out[step] = argmax(logits, vocab);
        if (step + 1 < n && llama_decode(ctx, llama_batch_get_one(&out[step], 1))) {
            fprintf(stderr, "oracle: llama_decode failed at step %d\n", step);
            return 1;
        }
    }
    double t2 = now_ms(), c2 = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
    printf("tokens");
    for (int i = 0; i < n; i++) printf(" %d", out[i]);
    /* decode_cpu_ms: CPU time of all threads over the decodes (with 1 thread, the decode's own time even on a busy machine) */
    printf("\ntiming prompt_ms %.3f decode_ms %.3f decodes %d prompt_tokens %d decode_cpu_ms %.3f\n", t1 - t0, t2 - t1, n > 0 ? n - 1 : 0, n_prompt, c2 - c1);
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}

static int quantize(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: oracle quantize IN OUT FTYPE THREADS\n");
        return 2;
    }
    params_blob qp = llama_model_quantize_default_params();
    int32_t *nthread = (int32_t *) qp.bytes, *ftype = (int32_t *) (qp.bytes + 4);
    if (*nthread != 0 || *ftype != 7 /* LLAMA_FTYPE_MOSTLY_Q8_0, the default */) {
        fprintf(stderr, "oracle: llama_model_quantize_params layout is not the expected one\n");
        return 1;
    }
    *ftype = atoi(argv[4]);
    *nthread = atoi(argv[5]);
    uint32_t rc = llama_model_quantize(argv[2], argv[3], qp.bytes);
    if (rc) {
        fprintf(stderr, "oracle: llama_model_quantize %s -> %s (ftype %s) failed\n", argv[2], argv[3], argv[4]);
        return 1;
    }
    return 0;
}

static int dequantize(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: oracle dequantize TYPE IN OUT\n");
        return 2;
    }
    const struct ggml_type_traits *t = ggml_get_type_traits(atoi(argv[2]));
    if (!t || !t->to_float || t->blck_size <= 0 || t->type_size == 0 || t->type_size > 1024) {
        fprintf(stderr, "oracle: ggml type %s has no to_float (or ggml_type_traits is not laid out as expected)\n", argv[2]);
        return 1;
    }
    FILE *in = fopen(argv[3], "rb");
    if (!in) {
        fprintf(stderr, "oracle: cannot read %s\n", argv[3]);
        return 1;
    }
    fseek(in, 0, SEEK_END);
    long size = ftell(in);
    fseek(in, 0, SEEK_SET);
    if (size <= 0 || size % t->type_size) {
        fprintf(stderr, "oracle: %s has %ld bytes, not whole %s blocks of %zu\n", argv[3], size, t->type_name, t->type_size);
        return 1;
    }
    unsigned char *raw = malloc(size);
    if (fread(raw, 1, size, in) != (size_t) size) return 1;
    fclose(in);
    int64_t n = size / t->type_size * t->blck_size;
    float *y = malloc(n * sizeof *y);
    t->to_float(raw, y, n);
    FILE *out = fopen(argv[4], "wb");
    if (!out || fwrite(y, sizeof *y, n, out) != (size_t) n || fclose(out)) {
        fprintf(stderr, "oracle: cannot write %s\n", argv[4]);
        return 1;
    }
    fprintf(stderr, "oracle: dequantized %lld %s weights\n", (long long) n, t->type_name);
    return 0;
}

int main(int argc, char **argv) {
    llama_log_set(quiet, NULL);
    if (argc < 2 || (strcmp(argv[1], "decode") && strcmp(argv[1], "quantize") && strcmp(argv[1], "dequantize"))) {
        fprintf(stderr, "usage: oracle decode MODEL N THREADS NLOGITS ID... | oracle quantize IN OUT FTYPE THREADS"
                        " | oracle dequantize TYPE IN OUT\n");
        return 2;
    }
    if (strcmp(argv[1], "dequantize") == 0) return dequantize(argc, argv);
    if (load_cpu_backend()) return 1;
    llama_backend_init();
    return strcmp(argv[1], "decode") == 0 ? decode(argc, argv) : quantize(argc, argv);
}
