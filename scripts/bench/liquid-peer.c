/*
 * liquid-dsp peer for `dekag bench phy --peer liquid` (src/radio/phy/peer.ts compiles this with gcc at
 * run time). Two modes:
 *
 *   liquid-peer gen OUT.cf32 SAMPLES DUTY PAYLOAD_BYTES SNR_DB FEC SEED
 *       writes a cf32 (interleaved little-endian float32 I/Q) file of SAMPLES samples holding
 *       ofdmflexframegen frames (M=64, CP 16, taper 4, QPSK, CRC-32, PAYLOAD_BYTES bytes each) with
 *       gaps of silence so that DUTY of the samples lie inside frames, plus AWGN at SNR_DB in-band
 *       (noise variance = mean frame power / (SNR * occupied subcarriers / M)); prints JSON.
 *   liquid-peer rx IN.cf32 FEC PASSES
 *       reads the file into memory, then runs ofdmflexframesync over it in 65536-sample blocks
 *       PASSES times (a fresh synchronizer each pass); the CPU time of each pass's receive loop
 *       (CLOCK_PROCESS_CPUTIME_ID) is measured, the best pass reported; prints JSON.
 *
 * FEC: v27 (K=7 r1/2 soft Viterbi, needs liquid built with libfec), h84 (Hamming(8,4), r1/2, built in)
 * or none. A FEC liquid cannot create makes the program exit 3 with a JSON error.
 */
#include <complex.h>
#include <liquid/liquid.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define M 64
#define CP 16
#define TAPER 4
#define BLOCK 65536

static int fec_of(const char *s) {
  if (!strcmp(s, "v27")) return LIQUID_FEC_CONV_V27;
  if (!strcmp(s, "h84")) return LIQUID_FEC_HAMMING84;
  if (!strcmp(s, "none")) return LIQUID_FEC_NONE;
  return -1;
}

/* liquid 1.5 without libfec: fec_create(LIQUID_FEC_CONV_V27) fails (returns NULL) */
static int fec_available(int f) {
  if (f == LIQUID_FEC_NONE) return 1;
  fec q = fec_create((fec_scheme)f, NULL);
  if (q == NULL) return 0;
  fec_destroy(q);
  return 1;
}

static double cpu_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static unsigned int rng_state = 1;
static double urand(void) {
  rng_state = rng_state * 1664525u + 1013904223u;
  return ((rng_state >> 8) + 0.5) / 16777216.0;
}
static double gauss(void) { return sqrt(-2 * log(urand())) * cos(2 * M_PI * urand()); }

typedef struct {
  unsigned long frames, headers, payloads;
} counts;

static int callback(unsigned char *h, int hv, unsigned char *p, unsigned int pl, int pv, framesyncstats_s st, void *u) {
  (void)h; (void)p; (void)pl; (void)st;
  counts *c = (counts *)u;
  c->frames++;
  if (hv) c->headers++;
  if (hv && pv) c->payloads++;
  return 0;
}

static int gen(int argc, char **argv) {
  if (argc < 9) return 2;
  const char *out = argv[2];
  long total = atol(argv[3]);
  double duty = atof(argv[4]);
  unsigned int plen = (unsigned int)atoi(argv[5]);
  double snr_db = atof(argv[6]);
  int f = fec_of(argv[7]);
  rng_state = (unsigned int)atol(argv[8]);
  if (f < 0) { printf("{\"error\":\"unknown fec %s\"}\n", argv[7]); return 2; }
  if (!fec_available(f)) { printf("{\"error\":\"fec %s unavailable in this liquid-dsp build (convolutional codes need liquid built with libfec)\"}\n", argv[7]); return 3; }
  ofdmflexframegenprops_s props;
  ofdmflexframegenprops_init_default(&props);
  props.check = LIQUID_CRC_32;
  props.fec0 = f;
  props.fec1 = LIQUID_FEC_NONE;
  props.mod_scheme = LIQUID_MODEM_QPSK;
  ofdmflexframegen fg = ofdmflexframegen_create(M, CP, TAPER, NULL, &props);
  unsigned char p[M];
  ofdmframe_init_default_sctype(M, p);
  unsigned int nnull, npilot, ndata;
  ofdmframe_validate_sctype(p, M, &nnull, &npilot, &ndata);
  double occ = (double)(npilot + ndata) / M;
  /* one frame to learn its length */
  unsigned char header[8] = {0};
  unsigned char *payload = malloc(plen);
  float complex sym[M + CP];
  float complex *x = calloc((size_t)total, sizeof(float complex));
  long n = 0, frame_samples = 0, nframes = 0;
  double power = 0;
  long flen = 0;
  {
    for (unsigned int i = 0; i < plen; i++) payload[i] = rand() & 0xff;
    ofdmflexframegen_assemble(fg, header, payload, plen);
    int done = 0;
    while (!done) { done = ofdmflexframegen_write(fg, sym, M + CP); flen += M + CP; }
  }
  long gap = duty >= 1 ? 0 : lround(flen * (1 - duty) / duty);
  n = gap / 2;
  while (n + flen <= total) {
    for (unsigned int i = 0; i < plen; i++) payload[i] = (unsigned char)(urand() * 256);
    header[0] = nframes & 0xff; header[1] = (nframes >> 8) & 0xff;
    ofdmflexframegen_assemble(fg, header, payload, plen);
    int done = 0;
    while (!done) {
      done = ofdmflexframegen_write(fg, sym, M + CP);
      for (int i = 0; i < M + CP && n < total; i++, n++) { x[n] = sym[i]; power += crealf(sym[i]) * crealf(sym[i]) + cimagf(sym[i]) * cimagf(sym[i]); frame_samples++; }
    }
    nframes++;
    n += gap;
  }
  double pmean = power / (frame_samples ? frame_samples : 1);
  double nvar = pmean / (pow(10, snr_db / 10) * occ);
  double sd = sqrt(nvar / 2);
  for (long i = 0; i < total; i++) x[i] += sd * gauss() + _Complex_I * sd * gauss();
  FILE *fo = fopen(out, "wb");
  if (!fo) { printf("{\"error\":\"cannot write %s\"}\n", out); return 2; }
  fwrite(x, sizeof(float complex), (size_t)total, fo);
  fclose(fo);
  printf("{\"samples\":%ld,\"frames\":%ld,\"frame_samples\":%ld,\"samples_per_frame\":%ld,\"duty\":%.4f,\"occupied_fraction\":%.4f,\"noise_var\":%.6g,\"frame_power\":%.6g}\n",
         total, nframes, frame_samples, flen, (double)frame_samples / total, occ, nvar, pmean);
  ofdmflexframegen_destroy(fg);
  free(x); free(payload);
  return 0;
}

static int rx(int argc, char **argv) {
  if (argc < 5) return 2;
  int f = fec_of(argv[3]);
  int passes = atoi(argv[4]);
  if (f < 0) { printf("{\"error\":\"unknown fec %s\"}\n", argv[3]); return 2; }
  if (!fec_available(f)) { printf("{\"error\":\"fec %s unavailable in this liquid-dsp build (convolutional codes need liquid built with libfec)\"}\n", argv[3]); return 3; }
  FILE *fi = fopen(argv[2], "rb");
  if (!fi) { printf("{\"error\":\"cannot read %s\"}\n", argv[2]); return 2; }
  fseek(fi, 0, SEEK_END);
  long bytes = ftell(fi);
  fseek(fi, 0, SEEK_SET);
  long total = bytes / (long)sizeof(float complex);
  float complex *x = malloc((size_t)total * sizeof(float complex));
  if (fread(x, sizeof(float complex), (size_t)total, fi) != (size_t)total) { printf("{\"error\":\"short read\"}\n"); return 2; }
  fclose(fi);
  double best = 1e30;
  counts c = {0, 0, 0};
  for (int pass = 0; pass < passes; pass++) {
    counts k = {0, 0, 0};
    ofdmflexframesync fs = ofdmflexframesync_create(M, CP, TAPER, NULL, callback, &k);
    double t0 = cpu_s();
    for (long o = 0; o < total; o += BLOCK) ofdmflexframesync_execute(fs, x + o, (unsigned int)(total - o < BLOCK ? total - o : BLOCK));
    double t = cpu_s() - t0;
    ofdmflexframesync_destroy(fs);
    if (t < best) best = t;
    c = k;
  }
  printf("{\"version\":\"%s\",\"samples\":%ld,\"passes\":%d,\"best_cpu_s\":%.6f,\"msps_cpu\":%.4f,\"frames_detected\":%lu,\"headers_valid\":%lu,\"payloads_valid\":%lu}\n",
         liquid_libversion(), total, passes, best, total / best / 1e6, c.frames, c.headers, c.payloads);
  free(x);
  return 0;
}

int main(int argc, char **argv) {
  int r = 2;
  if (argc > 1 && !strcmp(argv[1], "gen")) r = gen(argc, argv);
  else if (argc > 1 && !strcmp(argv[1], "rx")) r = rx(argc, argv);
  if (r == 2 && argc < 3) fprintf(stderr, "usage: liquid-peer gen OUT SAMPLES DUTY PAYLOAD SNR_DB FEC SEED | rx IN FEC PASSES\n");
  return r;
}
