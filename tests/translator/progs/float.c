/* Floating point through printf, libm, long double (x87) and SSE. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	double v[64], sum = 0;
	long double lsum = 0;
	float fs = 0;

	for (int i = 0; i < 64; i++) {
		v[i] = sin(i * 0.37 + argc) * 1000.0 / (i + 1);
		sum += v[i];
		lsum += (long double)v[i] * v[i];
		fs += (float)v[i];
	}
	qsort(v, 64, sizeof(v[0]), cmp);
	printf("%.17g %.17Lg %.9g\n", sum, lsum, fs);
	printf("%f %e %g %a\n", v[0], v[63], sqrt(fabs(sum)), v[10]);
	printf("%ld %lld %d\n", lrint(sum * 1000), (long long)(lsum / 3),
	       (int)floor(v[5]));
	printf("%s %.3f %.20Lf\n", argv[0] ? "ok" : "?", strtod("3.25e2", NULL),
	       sqrtl(2.0L));
	printf("%.6f %.6f %.6f %.6f\n", exp(1.5), log(10.0), pow(2.0, 0.5),
	       atan2(1.0, 3.0));
	return 0;
}
