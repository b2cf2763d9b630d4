/* The PIN rule, apart from the database code so that a parser that
 * checks PINs (IdentitySync's map.c, fuzzed) links without SQLite. */
#include "pl_directory.h"

#include <string.h>

#define PIN_MIN 4
#define PIN_MAX 32

int pl_dir_pin_valid(const char *pin)
{
	size_t n = pin ? strnlen(pin, PIN_MAX + 1) : 0;
	if (n < PIN_MIN || n > PIN_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (pin[i] < '0' || pin[i] > '9')
			return 0;
	return 1;
}
