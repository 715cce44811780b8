#include <stdio.h>
int main(int argc, char **argv)
{
	printf("hello from %d args, last %s\n", argc, argv[argc - 1]);
	return 3;
}
