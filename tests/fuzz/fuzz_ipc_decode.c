/* libFuzzer harness for the control-message decoder.  The first byte of
 * the input says how many fds "arrived" with the datagram (0..3), the rest
 * is the datagram.  Whatever ipc_decode accepts must validate again and
 * re-encode without trouble.  Seeds: tests/fuzz/seeds/fuzz_ipc_decode; the
 * block mapping and macvtap ones are the messages test_ipc accepts, written
 * by `MICA_IPC_SEEDS=tests/fuzz/seeds/fuzz_ipc_decode build/tests/test_ipc`. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ipc_envelope *env = NULL;
	char why[IPC_REASON_MAX];
	size_t nfds;

	if (size < 1)
		return 0;
	nfds = data[0] & 3;
	if (ipc_decode(data + 1, size - 1, nfds, &env, why, sizeof(why)) == 0) {
		uint8_t *again = malloc(mica__envelope__get_packed_size(env) + 1);

		if (ipc_validate(env, nfds, why, sizeof(why)) != 0)
			abort();
		mica__envelope__pack(env, again);
		free(again);
		mica__envelope__free_unpacked(env, NULL);
	}
	return 0;
}
