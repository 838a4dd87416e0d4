/* Two builds of libblaslinear_kernels.so in one process (dlopen), A·B (m × n × k, the weight W [k, n]) split over
 * the OpenMP threads by column slices as CpuWorkers.cs splits it: "alone", calls back to back; "after dW", each
 * call follows an untimed Aᵀ·B on a gradient of the weight's size, as in a backward pass, which evicts the
 * weight from cache. Medians of 15 interleaved windows of at least 20 ms, µs, old / new, and whether the two
 * libraries gave the same bits. docs/cpu-routes.md ("A·B: the weight prefetched") gives the rows it printed:
 *
 *   cc -O2 -fopenmp -o kernels-ab-probe scripts/kernels-ab-probe.c -ldl
 *   OMP_NUM_THREADS=2 ./kernels-ab-probe OLD.so NEW.so N K M...     (AVX2=1 in the environment: the AVX2 path)
 */
#include <dlfcn.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
typedef void (*gemm_t)(int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+1e-9*t.tv_nsec;}
static int cmp(const void*a,const void*b){double x=*(double*)a,y=*(double*)b;return x<y?-1:x>y;}
int main(int argc,char**argv){
  gemm_t ab[2], atb[2];
  for(int l=0;l<2;l++){ void*h=dlopen(argv[1+l],RTLD_NOW|RTLD_LOCAL); if(!h){puts(dlerror());return 1;} ab[l]=(gemm_t)dlsym(h,"blk_sgemm_ab"); atb[l]=(gemm_t)dlsym(h,"blk_sgemm_atb"); }
  int isa=getenv("AVX2")?1:2; /* BLK_ISA_AVX2, BLK_ISA_AVX512 */
  int n=atoi(argv[3]), k=atoi(argv[4]);
  float*W=aligned_alloc(64,(size_t)n*k*4),*G=aligned_alloc(64,(size_t)n*k*4),*X=aligned_alloc(64,64*(size_t)k*4),*Y[2],*D=aligned_alloc(64,64*(size_t)n*4);
  Y[0]=aligned_alloc(64,64*(size_t)n*4); Y[1]=aligned_alloc(64,64*(size_t)n*4);
  for(size_t i=0;i<(size_t)n*k;i++){W[i]=(i%7)*.1f;G[i]=0;} for(size_t i=0;i<64*(size_t)k;i++)X[i]=(i%5)*.1f; for(size_t i=0;i<64*(size_t)n;i++)D[i]=(i%3)*.1f;
  printf("A·B n=%d k=%d, %s, us medians old / new (bits equal?)\n  m   alone            after dW\n", n, k, isa==1?"AVX2":"AVX-512");
  for(int a=5;a<argc;a++){ int m=atoi(argv[a]); double med[2][2];
    for(int mode=0;mode<2;mode++){ double s[2][15];
      for(int r=0;r<15;r++) for(int l=0;l<2;l++){ double t=0; int it=0; double w0=now();
        while(now()-w0<0.02){
          if(mode) {
            #pragma omp parallel
            { int T=omp_get_num_threads(),th=omp_get_thread_num(); int r0=k*th/T,r1=k*(th+1)/T; atb[l](isa,r1-r0,n,m,1,X+r0,k,D,n,1,G+(size_t)r0*n,n); }
          }
          double t0=now();
          #pragma omp parallel
          { int T=omp_get_num_threads(),th=omp_get_thread_num(); int c0=n*th/T/16*16,c1=th==T-1?n:n*(th+1)/T/16*16; ab[l](isa,m,c1-c0,k,1,X,k,W+c0,n,0,Y[l]+c0,n); }
          t+=now()-t0; it++; }
        s[l][r]=t/it*1e6; }
      for(int l=0;l<2;l++){qsort(s[l],15,sizeof(double),cmp); med[mode][l]=s[l][7];}
    }
    printf("%3d  %6.1f / %6.1f   %6.1f / %6.1f   %s\n",m,med[0][0],med[0][1],med[1][0],med[1][1], memcmp(Y[0],Y[1],(size_t)m*n*4)?"DIFFER":"equal");
  }
}
