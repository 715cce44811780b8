#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
extern char **environ;
int main(void) {
	pid_t pid; int st;
	char *argv[] = { "echo", "spawned", NULL };
	int rc = posix_spawnp(&pid, "echo", NULL, NULL, argv, environ);
	if (rc) { printf("spawn failed %d\n", rc); return 1; }
	waitpid(pid, &st, 0);
	printf("child status %d\n", WEXITSTATUS(st));
	FILE *p = popen("echo via-popen", "r"); char b[64];
	if (p && fgets(b, sizeof b, p)) printf("%s", b);
	if (p) pclose(p);
	return 0;
}
