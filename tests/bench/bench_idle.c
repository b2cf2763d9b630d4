/* The RSS floor: the least a C program linked like plsc-supervisor (the
 * same libraries, the same flags) occupies while it waits for nothing. */
#include <unistd.h>

int main(void)
{
	for (;;)
		pause();
}
