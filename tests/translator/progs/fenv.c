/* Floating-point environment: SSE (MXCSR) and x87 rounding modes,
 * exception flags, fegetenv/fesetenv (fnstenv/fldenv), feholdexcept,
 * x87 precision control, fnsave/frstor, and libm rounding functions
 * (glibc picks SSE4.1 ROUNDSD variants when CPUID advertises it). */
#include <fenv.h>
#include <fpu_control.h>
#include <math.h>
#include <stdio.h>

static volatile double zero, one = 1.0, three = 3.0, big = 1e308, tiny = 1e-308;
static volatile float fthree = 3.0f;
static volatile long double lthree = 3.0L;
static volatile long long big_int = 9007199254740993LL;

static void print_flags(const char *what)
{
	printf("%s: inexact %d divbyzero %d invalid %d overflow %d underflow %d\n",
	       what, !!fetestexcept(FE_INEXACT), !!fetestexcept(FE_DIVBYZERO),
	       !!fetestexcept(FE_INVALID), !!fetestexcept(FE_OVERFLOW),
	       !!fetestexcept(FE_UNDERFLOW));
}

static void rounding(int mode, const char *name)
{
	static const double vals[] = { 2.5, -2.5, 3.5, -0.5, 0.49999999999999994,
				       1e15 + 0.5, -7.7, 123456.789 };

	fesetround(mode);
	printf("%s: get %d\n", name, fegetround() == mode);
	printf("  div %a %a %La\n", one / three, 2.0f / fthree, 1.0L / lthree);
	printf("  sqrt %a %a\n", sqrt(one * 2), sqrtf((float)three));
	printf("  cvt %a %a %ld\n", (double)big_int, (float)(big_int + 2),
	       lrint(one * 2.5));
	for (unsigned i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		volatile double v = vals[i];

		printf("  %a: rint %a nearbyint %a floor %a ceil %a trunc %a "
		       "round %a lrint %ld llrintl %lld rintf %a\n", v, rint(v),
		       nearbyint(v), floor(v), ceil(v), trunc(v), round(v),
		       lrint(v), llrintl((long double)v), rintf((float)v));
	}
	fesetround(FE_TONEAREST);
}

int main(void)
{
	fenv_t env;
	fpu_control_t cw, saved;
	volatile double d;
	volatile long double ld;

	rounding(FE_TONEAREST, "nearest");
	rounding(FE_DOWNWARD, "down");
	rounding(FE_UPWARD, "up");
	rounding(FE_TOWARDZERO, "towardzero");

	feclearexcept(FE_ALL_EXCEPT);
	print_flags("clear");
	d = one / zero;
	print_flags("1/0");
	feclearexcept(FE_ALL_EXCEPT);
	d = sqrt(zero - one);
	print_flags("sqrt(-1)");
	feclearexcept(FE_ALL_EXCEPT);
	d = big * 10;
	print_flags("overflow");
	feclearexcept(FE_ALL_EXCEPT);
	d = tiny / 1e10;
	print_flags("underflow");
	feclearexcept(FE_ALL_EXCEPT);
	d = one / three;
	print_flags("1/3");
	feclearexcept(FE_ALL_EXCEPT);
	ld = 1.0L / (lthree - 3.0L);
	print_flags("x87 1/0");
	feclearexcept(FE_ALL_EXCEPT);
	ld = 1.0L / lthree;
	print_flags("x87 1/3");
	feclearexcept(FE_ALL_EXCEPT);
	(void)d;
	(void)ld;

	fesetround(FE_UPWARD);
	fegetenv(&env);
	fesetround(FE_DOWNWARD);
	d = one / three;
	fesetenv(&env);
	printf("fesetenv restores: %d %d\n", fegetround() == FE_UPWARD,
	       !!fetestexcept(FE_INEXACT));
	feholdexcept(&env);
	d = one / zero;
	printf("held: %d\n", !!fetestexcept(FE_DIVBYZERO));
	feupdateenv(&env);
	printf("updated: %d %d\n", !!fetestexcept(FE_DIVBYZERO),
	       fegetround() == FE_UPWARD);
	fesetround(FE_TONEAREST);
	feclearexcept(FE_ALL_EXCEPT);

	/* x87 precision control: single, double, extended. */
	_FPU_GETCW(saved);
	for (int pc = 0; pc < 3; pc++) {
		static const fpu_control_t pcs[] = { _FPU_SINGLE, _FPU_DOUBLE,
						     _FPU_EXTENDED };

		cw = (saved & ~(fpu_control_t)_FPU_EXTENDED) | pcs[pc];
		_FPU_SETCW(cw);
		printf("pc %d: %La %La\n", pc, 1.0L / lthree,
		       lthree * 1.1L + 1e-10L);
	}
	_FPU_SETCW(saved);

	/* fnsave/frstor round trip with values on the x87 stack. */
	d = one / three;
	{
		unsigned char area[108];
		long double a = 1.0L / lthree, b;

		__asm__ volatile("fldl %2\n\t"
				 "fnsave %1\n\t"
				 "fldz\n\t"
				 "frstor %1\n\t"
				 "fstpt %0"
				 : "=m"(b), "+m"(area) : "m"(d) : "st");
		printf("frstor: %a %d %La\n", (double)d, area[0] == 0x7f,
		       b + a - a);
	}
	return 0;
}
