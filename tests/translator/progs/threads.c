/* Threads: mutexes, atomics, condition variables, join, TLS. */
#include <pthread.h>
#include <stdio.h>

#define N 4
#define ITER 20000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static long counter, atomic_counter;
static int ready;
static __thread long tls_value;

static void *worker(void *arg)
{
	long id = (long)arg;

	pthread_mutex_lock(&lock);
	while (!ready)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < ITER; i++) {
		pthread_mutex_lock(&lock);
		counter++;
		pthread_mutex_unlock(&lock);
		__atomic_fetch_add(&atomic_counter, 1, __ATOMIC_SEQ_CST);
		tls_value += id;
	}
	return (void *)tls_value;
}

int main(void)
{
	pthread_t th[N];
	long sum = 0;

	for (long i = 0; i < N; i++)
		pthread_create(&th[i], NULL, worker, (void *)(i + 1));
	pthread_mutex_lock(&lock);
	ready = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < N; i++) {
		void *ret;

		pthread_join(th[i], &ret);
		sum += (long)ret;
	}
	printf("counter %ld atomic %ld tls-sum %ld main-tls %ld\n", counter,
	       atomic_counter, sum, tls_value);
	return 0;
}
